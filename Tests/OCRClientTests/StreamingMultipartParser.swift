import Crypto
import Foundation

/// One part of a received form, as the fake server saw it: small parts keep their bytes,
/// every part keeps its size and SHA-256, so a 100 MB upload is checked without being kept.
struct ReceivedPart: Sendable {
    var name: String
    var filename: String?
    var contentType: String?
    var size: Int64 = 0
    var sha256: String = ""
    /// The first bytes (up to `StreamingMultipartParser.keepLimit`).
    var prefix: [UInt8] = []
    var text: String { String(decoding: prefix, as: UTF8.self) }
}

/// A streaming `multipart/form-data` parser for the fake server (RFC 7578), holding at most
/// one network chunk plus a delimiter's length at a time.
struct StreamingMultipartParser {
    static let keepLimit = 1 << 20

    private enum State { case preamble, afterDelimiter, headers, body, done, malformed }

    private let delimiter: [UInt8]
    private var buffer: [UInt8]
    private var state = State.preamble
    private var current: ReceivedPart?
    private var hasher = SHA256()
    private(set) var parts: [ReceivedPart] = []

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        buffer = Array("\r\n".utf8) // so the first boundary line matches the delimiter too
    }

    var isComplete: Bool { state == .done }

    mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        buffer.append(contentsOf: bytes)
        process()
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        // memchr for the first byte, memcmp for the rest: fast even in debug builds.
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { nee in
                var start = 0
                let last = hay.count - nee.count
                while start <= last {
                    guard let hit = memchr(hay.baseAddress! + start, Int32(nee[0]), last - start + 1) else { return nil }
                    let index = hay.baseAddress!.distance(to: UnsafeRawPointer(hit))
                    if memcmp(hay.baseAddress! + index, nee.baseAddress!, nee.count) == 0 { return index }
                    start = index + 1
                }
                return nil
            }
        }
    }

    private mutating func emit(_ count: Int) {
        guard count > 0, current != nil else { return }
        buffer.withUnsafeBufferPointer { pointer in
            let slice = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(pointer)[0..<count])
            hasher.update(bufferPointer: slice)
        }
        current!.size += Int64(count)
        let room = Self.keepLimit - current!.prefix.count
        if room > 0 { current!.prefix.append(contentsOf: buffer[0..<min(room, count)]) }
    }

    private mutating func process() {
        while true {
            switch state {
            case .preamble, .body:
                if let index = Self.find(delimiter, in: buffer) {
                    if state == .body {
                        emit(index)
                        current!.sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                        parts.append(current!)
                        current = nil
                    }
                    buffer.removeFirst(index + delimiter.count)
                    state = .afterDelimiter
                } else {
                    let keep = delimiter.count - 1
                    if buffer.count > keep {
                        let drop = buffer.count - keep
                        if state == .body { emit(drop) }
                        buffer.removeFirst(drop)
                    }
                    return
                }
            case .afterDelimiter:
                guard buffer.count >= 2 else { return }
                if buffer[0] == UInt8(ascii: "-"), buffer[1] == UInt8(ascii: "-") {
                    state = .done
                } else if buffer[0] == UInt8(ascii: "\r"), buffer[1] == UInt8(ascii: "\n") {
                    buffer.removeFirst(2)
                    state = .headers
                } else {
                    state = .malformed
                }
            case .headers:
                guard let end = Self.find(Array("\r\n\r\n".utf8), in: buffer) else { return }
                let text = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                var part = ReceivedPart(name: "")
                for line in text.components(separatedBy: "\r\n") {
                    let lower = line.lowercased()
                    if lower.hasPrefix("content-disposition:") {
                        part.name = Self.parameter("name", in: line) ?? ""
                        part.filename = Self.parameter("filename", in: line)
                    } else if lower.hasPrefix("content-type:") {
                        part.contentType = String(line.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces)
                    }
                }
                current = part
                hasher = SHA256()
                state = .body
            case .done, .malformed:
                return
            }
        }
    }

    private static func parameter(_ key: String, in line: String) -> String? {
        for piece in line.components(separatedBy: ";") {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("\(key)=\"") && trimmed.hasSuffix("\"") {
                return String(trimmed.dropFirst(key.count + 2).dropLast())
            }
        }
        return nil
    }
}
