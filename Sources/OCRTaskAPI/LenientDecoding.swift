import Foundation

// Decoding helpers that keep the contract tolerant of what real providers send: numbers as
// strings and strings as numbers, `null` for absent values. Internal: the public surface is
// the types that use them.
extension KeyedDecodingContainer {
    /// An integer sent as a number, a fractional number (truncated) or a numeric string.
    func decodeFlexibleInt(forKey key: Key) throws -> Int {
        if let value = try? decode(Int.self, forKey: key) { return value }
        if let value = try? decode(Double.self, forKey: key), value.isFinite, abs(value) < 1e15 {
            return Int(value.rounded(.down))
        }
        if let text = try? decode(String.self, forKey: key) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let value = Int(trimmed) { return value }
            if let value = Double(trimmed), value.isFinite, abs(value) < 1e15 { return Int(value.rounded(.down)) }
        }
        throw DecodingError.dataCorruptedError(
            forKey: key, in: self, debugDescription: "expected an integer or an integer string")
    }

    /// Like ``decodeFlexibleInt(forKey:)`` but `nil` when absent, `null` or unreadable.
    func decodeLenientInt(forKey key: Key) -> Int? {
        guard contains(key), (try? decodeNil(forKey: key)) != true else { return nil }
        return try? decodeFlexibleInt(forKey: key)
    }

    /// A string, or a number rendered as a string; `nil` when absent, `null` or another type.
    func decodeLenientString(forKey key: Key) -> String? {
        guard contains(key), (try? decodeNil(forKey: key)) != true else { return nil }
        if let text = try? decode(String.self, forKey: key) { return text }
        if let value = try? decode(Int64.self, forKey: key) { return String(value) }
        if let value = try? decode(Double.self, forKey: key) { return String(value) }
        if let value = try? decode(Bool.self, forKey: key) { return String(value) }
        return nil
    }

    /// A timestamp; `nil` when absent, `null`, empty or not a number (a malformed timestamp
    /// is informational and must not fail a poll).
    func decodeLenientTimestamp(forKey key: Key) -> UnixTimestamp? {
        guard contains(key), (try? decodeNil(forKey: key)) != true else { return nil }
        return try? decode(UnixTimestamp.self, forKey: key)
    }
}
