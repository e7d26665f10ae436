/// Text from topics and the ledger made safe for an operator's terminal.
///
/// Records are written by anyone who can produce to the jobs topic. Printed raw, an ESC
/// sequence in a job id, a header or a result could move the cursor, rewrite lines already
/// shown (hiding a record from `dlq list`), retitle the window or, on some terminals,
/// answer back into the shell; a bidirectional override could make a job id read as
/// another. Every control character but newline and tab (C0, DEL, C1) and every bidi
/// control is shown as a visible `\u{…}` escape instead.
public enum TerminalText {
    public static func safe(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Bytes read off a topic, decoded as UTF-8 (invalid sequences as U+FFFD) and made safe.
    public static func safe(_ bytes: some Sequence<UInt8>) -> String { safe(String(decoding: Array(bytes), as: UTF8.self)) }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: return false
        case 0x00...0x1F, 0x7F...0x9F: return true
        // Embeddings, overrides and isolates (the bidi controls), and the marks.
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
