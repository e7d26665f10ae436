public import Foundation

/// A point in time as the API writes it: Unix seconds in a JSON string (`"1700000000"`).
///
/// Decoding also accepts a JSON number (integer or fractional); encoding always writes
/// the string form, so ocr-server produces exactly what PicWish produces.
public struct UnixTimestamp: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64

    /// The seconds a decoded timestamp may have: years 0000 to 9999, what an RFC 3339
    /// date-time (the result's timings) can write. A reply outside it (`"1e300"`,
    /// `"9223372036854775807"`, `"-1e15"`) is not a timestamp: lenient decoding reads it as
    /// missing, so no later conversion of it can trap or publish an absurd date.
    public static let validSeconds: ClosedRange<Int64> = -62_167_219_200...253_402_300_799

    public init(seconds: Int64) { self.seconds = seconds }

    /// The date's whole seconds (rounded down), clamped to ``validSeconds``; NaN gives 0.
    public init(_ date: Date) {
        let value = date.timeIntervalSince1970.rounded(.down)
        if value.isNaN {
            seconds = 0
        } else if let exact = Int64(exactly: value), Self.validSeconds.contains(exact) {
            seconds = exact
        } else {
            seconds = value < 0 ? Self.validSeconds.lowerBound : Self.validSeconds.upperBound
        }
    }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }

    /// Parses the wire text (an integer, or a fractional number rounded down); `nil` for
    /// anything that is not a number within ``validSeconds``.
    public init?(wire text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let value = Int64(trimmed) {
            self.init(checked: value)
        } else if let value = Double(trimmed) {
            self.init(checked: value)
        } else {
            return nil
        }
    }

    private init?(checked value: Int64) {
        guard Self.validSeconds.contains(value) else { return nil }
        seconds = value
    }

    private init?(checked value: Double) {
        guard value.isFinite, let whole = Int64(exactly: value.rounded(.down)) else { return nil }
        self.init(checked: whole)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self), let parsed = UnixTimestamp(checked: value) {
            self = parsed
        } else if let value = try? container.decode(Double.self), let parsed = UnixTimestamp(checked: value) {
            self = parsed
        } else if let text = try? container.decode(String.self), let parsed = UnixTimestamp(wire: text) {
            self = parsed
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "timestamp is not Unix seconds between years 0000 and 9999")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(seconds))
    }

    public static func < (lhs: UnixTimestamp, rhs: UnixTimestamp) -> Bool { lhs.seconds < rhs.seconds }

    public var description: String { String(seconds) }
}
