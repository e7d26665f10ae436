import Foundation
import OCRTaskAPI

/// Removes secrets from text before it reaches a log line or an error description: the
/// API key and passwords (exact occurrences), and the query, fragment and userinfo of every
/// URL in the text.
struct SecretRedactor: Sendable {
    private let secrets: [String]

    init(secrets: [String]) {
        // Very short "secrets" would redact ordinary words; they are not secrets anyway.
        self.secrets = secrets.filter { $0.count >= 4 }.sorted { $0.count > $1.count }
    }

    func adding(_ more: [String?]) -> SecretRedactor {
        SecretRedactor(secrets: secrets + more.compactMap { $0 })
    }

    func scrub(_ text: String) -> String {
        var out = text
        for secret in secrets { out = out.replacingOccurrences(of: secret, with: "<redacted>") }
        let pattern = #"[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return out }
        let ns = out as NSString
        var result = ""
        var cursor = 0
        for match in regex.matches(in: out, range: NSRange(location: 0, length: ns.length)) {
            result += ns.substring(with: NSRange(location: cursor, length: match.range.location - cursor))
            result += RedactedURL.string(ns.substring(with: match.range))
            cursor = match.range.location + match.range.length
        }
        result += ns.substring(from: cursor)
        return result
    }
}
