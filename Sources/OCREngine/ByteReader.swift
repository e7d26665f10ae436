import Foundation

/// Bounds-checked reads of little- and big-endian integers from a file's bytes: every
/// read past the end gives nil (or 0 for a single byte), never a trap, whatever a hostile
/// header claims.
struct ByteReader {
    let bytes: Data

    var count: Int { bytes.count }

    /// The byte at `offset`, 0 past the end.
    subscript(offset: Int) -> UInt8 {
        offset >= 0 && offset < bytes.count ? bytes[bytes.startIndex + offset] : 0
    }

    func matches(_ offset: Int, _ expected: [UInt8]) -> Bool {
        guard offset >= 0, offset + expected.count <= bytes.count else { return false }
        return expected.indices.allSatisfy { self[offset + $0] == expected[$0] }
    }

    private func value(_ offset: Int, _ size: Int, bigEndian: Bool) -> Int? {
        guard offset >= 0, size <= bytes.count, offset <= bytes.count - size else { return nil }
        var result = 0
        for index in 0..<size {
            let byte = Int(self[offset + (bigEndian ? index : size - 1 - index)])
            result = result << 8 | byte
        }
        return result
    }

    func uint16LE(_ offset: Int) -> Int? { value(offset, 2, bigEndian: false) }
    func uint16BE(_ offset: Int) -> Int? { value(offset, 2, bigEndian: true) }
    func uint24LE(_ offset: Int) -> Int? { value(offset, 3, bigEndian: false) }
    func uint32LE(_ offset: Int) -> Int? { value(offset, 4, bigEndian: false) }
    func uint32BE(_ offset: Int) -> Int? { value(offset, 4, bigEndian: true) }
    func int32LE(_ offset: Int) -> Int32? { uint32LE(offset).map { Int32(truncatingIfNeeded: $0) } }
}
