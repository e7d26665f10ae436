import Foundation

/// The `--config` file's shape, checked before swift-configuration's `.env` reader reads
/// its values: that reader skips a line without `=` silently, so a typo (a line that lost
/// its `=`) would quietly leave a setting at its default. Here such a line is an error
/// naming the file and line (not the line's text, which may hold a secret).
enum SettingsFile {
    /// The names the file sets, in the reader's rules: `NAME=value` lines, blanks around
    /// both trimmed; empty lines and lines starting with `#` skipped.
    static func names(atPath path: String) throws -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationFailure("cannot read the configuration file \(path)")
        }
        var names: Set<String> = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), line[..<eq].contains(where: { !$0.isWhitespace }) else {
                throw ValidationFailure("\(path):\(number + 1): expected NAME=value")
            }
            names.insert(line[..<eq].trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return names
    }
}
