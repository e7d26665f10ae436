import Foundation

/// Which configuration values are secrets, and how a printed configuration hides them.
/// Used wherever settings are printed or logged (`ocr-worker check`, start-up logs).
///
/// A name is secret when, split into words at `.`, `_`, `-` and case changes, it has a
/// word that names a secret (`password`, `passwd`, `pwd`, `secret`, `token`, `key`,
/// `pem`, `jaas`, `credential(s)`, `private`, `apikey`, `auth`), or when it is librdkafka's
/// `sasl.oauthbearer.config` (which embeds client secrets). So `ssl.key.pem`,
/// `ssl_key_pem`, `OCR_KAFKA_SSL_KEY_PEM`, `sasl.password`, `ssl.key.password`,
/// `sasl.oauthbearer.client.secret`, `OCR_PROVIDER_API_KEY`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN` all are; `sasl.username` and `ssl.ca.location` are not. Some
/// harmless names (`ssl.key.location`, a path) are hidden too: over-redaction costs a
/// line of output, under-redaction a credential.
///
/// Values that are URLs lose their userinfo password and the value of every query
/// parameter whose name is secret (`postgres://u:***@db/x?password=***`); values that are
/// not URLs are printed unchanged unless their name is secret.
public enum ConfigurationRedaction {
    /// What a secret value is printed as.
    public static let placeholder = "[redacted]"

    static let secretWords: Set<String> = [
        "password", "passwd", "pwd", "secret", "secrets", "token", "key", "keys", "pem", "jaas", "credential",
        "credentials", "private", "apikey", "auth", "passphrase", "signature", "sig",
    ]

    /// Whether the value of the setting `name` is a secret (see the type's rules).
    public static func isSecret(name: String) -> Bool {
        let lower = name.lowercased()
        if lower.contains("password") || lower.contains("secret") || lower.contains("token") || lower.contains("jaas") {
            return true
        }
        if lower == "sasl.oauthbearer.config" || lower.hasSuffix("sasl_oauthbearer_config") { return true }
        return words(of: name).contains { secretWords.contains($0) }
    }

    /// The value of `name` as it may be printed.
    public static func redact(name: String, value: String) -> String {
        isSecret(name: name) ? placeholder : redactingURLSecrets(value)
    }

    /// Every setting, names sorted, values as they may be printed.
    public static func redact(_ settings: [String: String]) -> [(name: String, value: String)] {
        settings.sorted { $0.key < $1.key }.map { ($0.key, redact(name: $0.key, value: $0.value)) }
    }

    /// `value` with a URL's userinfo password and secret query parameters replaced by
    /// `***`; a value that is not a URL with a scheme is returned unchanged. A URL that
    /// looks like one but cannot be rebuilt is replaced entirely.
    public static func redactingURLSecrets(_ value: String) -> String {
        guard value.contains("://"), var components = URLComponents(string: value), components.scheme != nil else {
            // Not parseable as a URL: if it still carries userinfo, hide the whole value.
            if let range = value.range(of: "://"), value[range.upperBound...].contains("@") { return placeholder }
            return value
        }
        var changed = false
        if components.percentEncodedPassword != nil {
            components.percentEncodedPassword = "***"
            changed = true
        }
        if let items = components.percentEncodedQueryItems {
            components.percentEncodedQueryItems = items.map { item in
                guard isSecret(name: item.name) else { return item }
                changed = true
                return URLQueryItem(name: item.name, value: "***")
            }
        }
        guard changed else { return value }
        return components.string ?? placeholder
    }

    /// `ssl.key.pem` -> [ssl, key, pem]; `OCR_PROVIDER_API_KEY` -> [ocr, provider, api, key];
    /// `apiKey` -> [api, key].
    static func words(of name: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousWasLower = false
        for character in name {
            if character == "." || character == "_" || character == "-" || character == " " {
                if !current.isEmpty { words.append(current.lowercased()) }
                current = ""
                previousWasLower = false
                continue
            }
            if character.isUppercase, previousWasLower {
                words.append(current.lowercased())
                current = ""
            }
            current.append(character)
            previousWasLower = character.isLowercase || character.isNumber
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }
}
