/// Lowercase hexadecimal text of bytes (digests, random tokens).
///
/// Written out by hand because `String(format: "%02x")` goes through Foundation's
/// formatter once per byte, which showed up in the worker's profile at a few per cent of
/// its CPU (one digest per job).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
