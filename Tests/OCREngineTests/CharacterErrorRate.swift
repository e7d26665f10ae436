/// Edit distance over the reference's characters, whitespace runs counted as one space:
/// how the bench scores recognition, for tests that compare two readings of one page.
enum CharacterErrorRate {
    static func of(_ text: String, against reference: String) -> Double {
        func normalized(_ text: String) -> [Character] {
            Array(text.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
        let hypothesis = normalized(text), truth = normalized(reference)
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
}
