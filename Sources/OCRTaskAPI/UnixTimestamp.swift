public import Foundation

/// A point in time as the API writes it: Unix seconds in a JSON string (`"1700000000"`).
///
/// Decoding also accepts a JSON number (integer or fractional); encoding always writes
/// the string form, so ocr-server produces exactly what PicWish produces.
public struct UnixTimestamp: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public init(_ date: Date) { self.seconds = Int64(date.timeIntervalSince1970.rounded(.down)) }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }

    /// Parses the wire text; `nil` for anything that is not a number.
    public init?(wire text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let value = Int64(trimmed) {
            seconds = value
        } else if let value = Double(trimmed), value.isFinite, abs(value) < 1e15 {
            seconds = Int64(value.rounded(.down))
        } else {
            return nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self) {
            seconds = value
        } else if let value = try? container.decode(Double.self), value.isFinite, abs(value) < 1e15 {
            seconds = Int64(value.rounded(.down))
        } else if let text = try? container.decode(String.self), let parsed = UnixTimestamp(wire: text) {
            self = parsed
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "timestamp is not Unix seconds")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(seconds))
    }

    public static func < (lhs: UnixTimestamp, rhs: UnixTimestamp) -> Bool { lhs.seconds < rhs.seconds }

    public var description: String { String(seconds) }
}
