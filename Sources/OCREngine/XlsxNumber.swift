/// Which table cells an xlsx stores as numbers: a plain decimal number, as a spreadsheet
/// user types it, and nothing that only looks like one.
///
/// Numbers: an optional sign, digits (optionally grouped by commas in threes: "1,234"),
/// an optional decimal point and digits. Text: a leading zero before more digits ("007",
/// an identifier), more than 15 significant digits (beyond a double's exact range: card
/// and account numbers), and anything with other characters ("12%", "22/tcp",
/// "+4230+00131", "1.2.3").
enum XlsxNumber {
    /// The cell's value as an xlsx numeric literal, or nil to store it as text.
    static func literal(_ text: String) -> String? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var sign = ""
        if let first = rest.first, first == "-" || first == "+" || first == "\u{2212}" {
            sign = first == "+" ? "" : "-"
            rest = rest.dropFirst()
        }
        let parts = rest.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count <= 2, let integer = parts.first, !integer.isEmpty else { return nil }
        let fraction = parts.count == 2 ? parts[1] : nil
        if let fraction, fraction.isEmpty || !fraction.allSatisfy(\.isASCIIDigit) { return nil }
        let groups = integer.split(separator: ",", omittingEmptySubsequences: false)
        guard groups.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) else { return nil }
        if groups.count > 1 {
            guard groups[0].count <= 3, groups.dropFirst().allSatisfy({ $0.count == 3 }) else { return nil }
        }
        let digits = groups.joined()
        if digits.count > 1 && digits.hasPrefix("0") { return nil }
        let significant = (digits + (fraction ?? "")).drop { $0 == "0" }
        guard significant.count <= 15 else { return nil }
        return sign + digits + (fraction.map { "." + $0 } ?? "")
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
