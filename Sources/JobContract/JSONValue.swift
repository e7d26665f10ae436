import Foundation

/// A parsed JSON value (RFC 8259). Numbers keep their original lexeme, so nothing is lost
/// to floating point; objects are dictionaries because the parser refuses duplicate names.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number as written (`1`, `-0.5e3`), validated against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The JSON type name, for messages (`object`, `string`, ...).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Canonical bytes: keys sorted by code point, no insignificant whitespace, minimal
    /// string escapes, numbers normalised (see ``JSONWriter``). Two documents with the same
    /// data give the same bytes however they were formatted.
    public var canonicalBytes: [UInt8] {
        var writer = JSONWriter()
        writer.write(.value(self), canonicalNumbers: true)
        return writer.bytes
    }
}

/// Why bytes are not one JSON document. The message gives a position and what was
/// expected, never the content, so it is safe to log whatever the input held.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case syntax
        case duplicateKey
        case tooDeep
    }

    public var kind: Kind
    public var offset: Int
    public var reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes that also reports where each member of the
/// top-level object sits in the input, so a value (the job's `metadata`) can be echoed
/// byte for byte.
public struct JSONParser {
    /// A member of the top-level object with the byte range of its value.
    public struct Member: Sendable {
        public var value: JSONValue
        public var range: Range<Int>
    }

    public static let maxDepth = 64

    private let bytes: [UInt8]
    private var index = 0
    /// Only for ``topLevelMembers(_:)``: a repeated name keeps the last value instead of
    /// failing the parse.
    private var allowsDuplicateNames = false

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Where one member of a top-level object sits: `nameStart` is its opening quote,
    /// `valueEnd` one past its value.
    struct MemberSpan: Sendable, Hashable {
        var name: String
        var nameStart: Int
        var valueEnd: Int
    }

    /// The members of a top-level object in document order, repeated names included; `nil`
    /// when `bytes` is valid JSON but not an object. Throws when it is not valid JSON
    /// (repeated names apart).
    static func topLevelMembers(_ bytes: [UInt8]) throws(JSONParseError) -> [MemberSpan]? {
        var parser = JSONParser(bytes)
        parser.allowsDuplicateNames = true
        parser.skipWhitespace()
        guard parser.peek() == UInt8(ascii: "{") else {
            _ = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.index == bytes.count else { throw parser.error("unexpected data after the document") }
            return nil
        }
        var spans: [MemberSpan] = []
        var ignored: [String: Member] = [:]
        _ = try parser.parseObject(depth: 0, members: &ignored, spans: &spans)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected data after the document") }
        return spans
    }

    /// Parses one JSON document (surrounding whitespace allowed).
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected data after the document") }
        return value
    }

    /// Parses a document and, if it is an object, the byte range of each member's value.
    public static func parseWithMembers(_ bytes: [UInt8]) throws(JSONParseError) -> (JSONValue, [String: Member]) {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        var members: [String: Member] = [:]
        let value: JSONValue
        if parser.peek() == UInt8(ascii: "{") {
            value = try parser.parseObject(depth: 0, members: &members)
        } else {
            value = try parser.parseValue(depth: 0)
        }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected data after the document") }
        return (value, members)
    }

    private func error(_ reason: String, _ kind: JSONParseError.Kind = .syntax) -> JSONParseError {
        JSONParseError(kind: kind, offset: index, reason: reason)
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ literal: String) throws(JSONParseError) {
        for byte in literal.utf8 {
            guard peek() == byte else { throw error("invalid literal") }
            index += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let byte = peek() else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"):
            var ignored: [String: Member] = [:]
            return try parseObject(depth: depth, members: &ignored)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int, members: inout [String: Member]) throws(JSONParseError) -> JSONValue {
        var ignored: [MemberSpan] = []
        return try parseObject(depth: depth, members: &members, spans: &ignored, recordSpans: false)
    }

    private mutating func parseObject(
        depth: Int, members: inout [String: Member], spans: inout [MemberSpan], recordSpans: Bool = true
    ) throws(JSONParseError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels", .tooDeep) }
        index += 1 // {
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let keyStart = index
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            let valueStart = index
            let value = try parseValue(depth: depth + 1)
            guard object.updateValue(value, forKey: key) == nil || allowsDuplicateNames else {
                throw JSONParseError(kind: .duplicateKey, offset: keyStart, reason: "duplicate member name")
            }
            members[key] = Member(value: value, range: valueStart..<index)
            if recordSpans { spans.append(MemberSpan(name: key, nameStart: keyStart, valueEnd: index)) }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(object)
            default: throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels", .tooDeep) }
        index += 1 // [
        var array: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(array)
            default: throw error("expected ',' or ']'")
            }
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> String {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw error("invalid number") }
        index += 1
        if first != UInt8(ascii: "0") {
            while let b = peek(), isDigit(b) { index += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let b = peek(), isDigit(b) else { throw error("invalid number") }
            while let b = peek(), isDigit(b) { index += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let b = peek(), isDigit(b) else { throw error("invalid number") }
            while let b = peek(), isDigit(b) { index += 1 }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1 // opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flush(_ parser: JSONParser, _ end: Int, into view: inout String.UnicodeScalarView) throws(JSONParseError) {
            guard runStart < end else { return }
            guard let text = String(validating: parser.bytes[runStart..<end], as: UTF8.self) else {
                throw JSONParseError(kind: .syntax, offset: runStart, reason: "invalid UTF-8 in a string")
            }
            view.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard let byte = peek() else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                try flush(self, index, into: &scalars)
                index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(self, index, into: &scalars)
                index += 1
                guard let escape = peek() else { throw error("unterminated escape") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    let unit = try parseHex4()
                    if (0xD800...0xDBFF).contains(unit) {
                        guard peek() == UInt8(ascii: "\\") else { throw error("unpaired surrogate") }
                        index += 1
                        guard peek() == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
                        index += 1
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                        let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        guard let scalar = Unicode.Scalar(value) else { throw error("invalid escape") }
                        scalars.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(UInt32(unit)) else { throw error("unpaired surrogate") }
                        scalars.append(scalar)
                    }
                default:
                    throw error("invalid escape")
                }
                runStart = index
            case 0x00..<0x20:
                throw error("control character in a string")
            default:
                index += 1
            }
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let b = peek() else { throw error("invalid \\u escape") }
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }
}

/// What ``JSONWriter`` writes: a parsed value, bytes to embed verbatim, or an object built
/// from further nodes (members sorted by name on output).
public indirect enum JSONNode: Sendable {
    case value(JSONValue)
    case raw([UInt8])
    case object([String: JSONNode])
    case array([JSONNode])

    public static let null = JSONNode.value(.null)
    public static func string(_ text: String) -> JSONNode { .value(.string(text)) }
    public static func string(_ text: String?) -> JSONNode { text.map { .value(.string($0)) } ?? .null }
    public static func int(_ number: some BinaryInteger) -> JSONNode { .value(.number(String(number))) }
}

/// Deterministic JSON output: object members sorted by the UTF-8 bytes of their names, no
/// whitespace, `"` `\` and control characters escaped, everything else written as UTF-8.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Writes a node. With `canonicalNumbers`, numbers are normalised (integers as digits,
    /// other values in the shortest form that round-trips a Double), so `1.0` and `1` agree.
    public mutating func write(_ node: JSONNode, canonicalNumbers: Bool = false) {
        switch node {
        case .raw(let raw): bytes.append(contentsOf: raw)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item, canonicalNumbers: canonicalNumbers)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted(by: Self.keyOrder).enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(key)
                bytes.append(UInt8(ascii: ":"))
                write(members[key]!, canonicalNumbers: canonicalNumbers)
            }
            bytes.append(UInt8(ascii: "}"))
        case .value(let value):
            switch value {
            case .null: bytes.append(contentsOf: "null".utf8)
            case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
            case .number(let lexeme):
                bytes.append(contentsOf: (canonicalNumbers ? Self.canonicalNumber(lexeme) : lexeme).utf8)
            case .string(let text): writeString(text)
            case .array(let items): write(.array(items.map(JSONNode.value)), canonicalNumbers: canonicalNumbers)
            case .object(let members):
                write(.object(members.mapValues(JSONNode.value)), canonicalNumbers: canonicalNumbers)
            }
        }
    }

    static func keyOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    static func canonicalNumber(_ lexeme: String) -> String {
        if !lexeme.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            return lexeme == "-0" ? "0" : lexeme
        }
        guard let double = Double(lexeme), double.isFinite else { return lexeme }
        if double == 0 { return "0" }
        if double == double.rounded(), abs(double) < 9_007_199_254_740_992 { return String(Int64(double)) }
        return "\(double)"
    }

    private mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
            case 0x0A: bytes.append(contentsOf: "\\n".utf8)
            case 0x0D: bytes.append(contentsOf: "\\r".utf8)
            case 0x09: bytes.append(contentsOf: "\\t".utf8)
            case 0x08: bytes.append(contentsOf: "\\b".utf8)
            case 0x0C: bytes.append(contentsOf: "\\f".utf8)
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let int = try? container.decode(Int64.self) {
            self = .number(String(int))
        } else if let double = try? container.decode(Double.self) {
            self = .number(JSONWriter.canonicalNumber("\(double)"))
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .number(let lexeme):
            if let int = Int64(lexeme) {
                try container.encode(int)
            } else {
                try container.encode(Double(lexeme) ?? 0)
            }
        case .string(let text): try container.encode(text)
        case .array(let items): try container.encode(items)
        case .object(let members): try container.encode(members)
        }
    }
}

/// JSON kept as the exact bytes it arrived in (the job's `metadata`), so it is echoed into
/// the result unchanged: same key order, same spacing, same number spelling.
public struct RawJSON: Sendable, Hashable, Codable, CustomStringConvertible {
    public let bytes: [UInt8]
    /// The parsed form of ``bytes``.
    public let value: JSONValue

    /// Validates that `bytes` are one JSON document.
    public init(validating bytes: [UInt8]) throws(JSONParseError) {
        self.value = try JSONParser.parse(bytes)
        self.bytes = bytes
    }

    init(uncheckedBytes bytes: [UInt8], value: JSONValue) {
        self.bytes = bytes
        self.value = value
    }

    /// Canonical bytes of a value.
    public init(_ value: JSONValue) {
        self.value = value
        self.bytes = value.canonicalBytes
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Decodes any JSON value; the bytes become its canonical form (a `Decoder` cannot hand
    /// out the original bytes). ``JobResult/decode(_:)`` keeps them exactly.
    public init(from decoder: any Decoder) throws {
        self.init(try JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
    }
}
