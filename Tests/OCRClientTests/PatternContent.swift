import Crypto
import Foundation
import NIOCore

/// Deterministic test content of any size: a fixed 1 MiB block of pseudo-random bytes,
/// repeated. Cheap to generate in chunks and to hash, without holding the whole content.
enum PatternContent {
    static let blockSize = 1 << 20

    static let block: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<blockSize).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }()

    static func chunk(offset: Int64, length: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: length)
        var position = Int(offset % Int64(blockSize))
        var remaining = length
        while remaining > 0 {
            let take = min(remaining, blockSize - position)
            _ = block.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[position..<(position + take)])) }
            remaining -= take
            position = 0
        }
        return buffer
    }

    static func sha256(size: Int64) -> String {
        var hasher = SHA256()
        var offset: Int64 = 0
        while offset < size {
            let length = Int(min(Int64(blockSize), size - offset))
            let chunk = self.chunk(offset: offset, length: length, allocator: ByteBufferAllocator())
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            offset += Int64(length)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Writes `size` bytes of the pattern to a new file, one block at a time.
    static func writeFile(at path: String, size: Int64) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var offset: Int64 = 0
        while offset < size {
            let length = Int(min(Int64(blockSize), size - offset))
            try handle.write(contentsOf: block[0..<length])
            offset += Int64(length)
        }
    }
}
