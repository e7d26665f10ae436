/// Reads structured values off the front of a fuzzer's byte string; past the end every
/// read gives zero or empty, so any input is a valid one.
struct FuzzInput {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    mutating func int64() -> Int64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return Int64(bitPattern: value)
    }

    mutating func take(_ count: Int) -> [UInt8] {
        let part = bytes.prefix(count)
        bytes = bytes.dropFirst(count)
        return Array(part)
    }

    mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }
}
