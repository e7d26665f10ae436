/// Character error rate, as the OCR bench scores recognition: the edit distance between a
/// reading and the reference's characters, divided by the reference's length.
///
/// Both texts are normalised first: whitespace runs count as one space, and a space next
/// to a CJK character vanishes (Tesseract puts spaces between Chinese characters that the
/// reference does not have).
public enum CharacterErrorRate {
    public static func of(_ text: String, against reference: String) -> Double {
        let hypothesis = normalized(text)
        let truth = normalized(reference)
        guard !truth.isEmpty else { return hypothesis.isEmpty ? 0 : 1 }
        var previous = Array(0...hypothesis.count)
        for (row, expected) in truth.enumerated() {
            var current = [row + 1] + [Int](repeating: 0, count: hypothesis.count)
            for (column, actual) in hypothesis.enumerated() {
                current[column + 1] = min(
                    previous[column] + (expected == actual ? 0 : 1), previous[column + 1] + 1, current[column] + 1)
            }
            previous = current
        }
        return Double(previous[hypothesis.count]) / Double(truth.count)
    }

    static func normalized(_ text: String) -> [Character] {
        let collapsed = Array(text.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        func isCJK(_ character: Character) -> Bool {
            character.unicodeScalars.contains {
                (0x2E80...0x9FFF).contains($0.value) || (0xFF00...0xFFEF).contains($0.value)
                    || (0x3000...0x303F).contains($0.value)
            }
        }
        return collapsed.indices.compactMap { index in
            let character = collapsed[index]
            if character == " ", index > 0, index + 1 < collapsed.count,
                isCJK(collapsed[index - 1]) || isCJK(collapsed[index + 1])
            {
                return nil
            }
            return character
        }
    }
}
