import Foundation
import Kafka
import Ledger

/// Configuration values by name, merged in this order (later wins): built-in defaults,
/// the optional file (`--config`, or `OCR_CONFIG`), the environment, command-line flags.
///
/// The file holds `NAME=value` lines with the same names as the environment variables
/// (`#` starts a comment). librdkafka properties pass through unchanged as
/// `OCR_KAFKA_<PROPERTY>` (dots as `_`, e.g. `OCR_KAFKA_SECURITY_PROTOCOL=SASL_SSL`) or
/// `--kafka-property security.protocol=SASL_SSL`.
///
/// Secrets: every name ``secretNames`` lists is read somewhere (the API key by the
/// provider client, `AWS_*` by the S3 store through ``dependencyEnvironment``,
/// `OCR_LEDGER_PASSWORD` folded into the ledger URL here), and every printed value goes
/// through ``ConfigurationRedaction`` (names that look secret, URL passwords, secret
/// query parameters).
struct Settings {
    private(set) var values: [String: String]
    private(set) var kafkaProperties: [String: String] = [:]
    private let environment: [String: String]
    /// The `--kafka-property` flags (printed separately; the `OCR_KAFKA_*` ones are in
    /// ``values``).
    private var kafkaFlagProperties: [String: String] = [:]

    /// Names whose values are secrets: never printed. (``ConfigurationRedaction`` also
    /// finds them by name; the list documents the ones the worker reads.)
    static let secretNames: Set<String> = [
        "OCR_PROVIDER_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OCR_LEDGER_PASSWORD",
    ]

    init(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment, flags: [String: String?], kafkaFlags: [String]) throws {
        var values: [String: String] = [:]
        if let path = file ?? environment["OCR_CONFIG"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationFailure("cannot read the configuration file \(path)")
            }
            for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let eq = line.firstIndex(of: "=") else {
                    throw ValidationFailure("\(path):\(number + 1): expected NAME=value")
                }
                values[String(line[..<eq]).trimmingCharacters(in: .whitespaces)] =
                    String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            }
        }
        for (k, v) in environment where k.hasPrefix("OCR_") || k.hasPrefix("AWS_") { values[k] = v }
        for case (let k, let v?) in flags { values[k] = v }
        // OCR_LEDGER_PASSWORD (say, from a Kubernetes secret) goes into the ledger URL, so
        // every command that opens the ledger uses it.
        if let password = values["OCR_LEDGER_PASSWORD"], !password.isEmpty {
            let url = values["OCR_LEDGER_URL"] ?? ""
            do {
                values["OCR_LEDGER_URL"] = try LedgerConfiguration.url(url, withPassword: password)
            } catch {
                throw ValidationFailure("OCR_LEDGER_PASSWORD: \(error)")
            }
        }
        self.environment = environment
        self.values = values
        for (k, v) in values where k.hasPrefix("OCR_KAFKA_") && k != "OCR_KAFKA_BOOTSTRAP" {
            kafkaProperties[k.dropFirst("OCR_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = v
        }
        for flag in kafkaFlags {
            guard let eq = flag.firstIndex(of: "=") else {
                // The flag may be a secret without its `=`: never echo it.
                throw ValidationFailure("--kafka-property needs name=value")
            }
            kafkaProperties[String(flag[..<eq])] = String(flag[flag.index(after: eq)...])
            kafkaFlagProperties[String(flag[..<eq])] = String(flag[flag.index(after: eq)...])
        }
    }

    subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    func string(_ name: String, default value: String) -> String { self[name] ?? value }

    /// A whole number within `Int32`'s range (every count, port and number of seconds the
    /// worker takes fits, and callers may convert to `Int32` or multiply without
    /// overflowing).
    func int(_ name: String, default value: Int) throws -> Int {
        guard let text = self[name] else { return value }
        guard let n = Int(text), let bounded = Int32(exactly: n) else {
            throw ValidationFailure(
                "\(name) must be a whole number between \(Int32.min) and \(Int32.max), got \(ConfigurationRedaction.redact(name: name, value: text))")
        }
        return Int(bounded)
    }

    func double(_ name: String, default value: Double) throws -> Double {
        guard let text = self[name] else { return value }
        guard let n = Double(text), n.isFinite else {
            throw ValidationFailure("\(name) must be a finite number, got \(ConfigurationRedaction.redact(name: name, value: text))")
        }
        return n
    }

    func bool(_ name: String, default value: Bool) throws -> Bool {
        guard let text = self[name]?.lowercased() else { return value }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ValidationFailure("\(name) must be true or false, got \(text)")
        }
    }

    func kafka(clientID: String) -> KafkaClientConfiguration {
        KafkaClientConfiguration(
            bootstrapServers: string("OCR_KAFKA_BOOTSTRAP", default: "127.0.0.1:9092").split(separator: ",").map(String.init),
            clientID: clientID, properties: kafkaProperties)
    }

    /// Every value, secrets replaced, for `check` and start-up logs: the settings by name,
    /// then the `--kafka-property` flags as `--kafka-property name`.
    var redacted: [(String, String)] {
        let named = ConfigurationRedaction.redact(values).map { name, value in
            (name, Self.secretNames.contains(name) ? ConfigurationRedaction.placeholder : value)
        }
        let flagged = ConfigurationRedaction.redact(kafkaFlagProperties).map { ("--kafka-property \($0.name)", $0.value) }
        return named + flagged
    }

    /// The environment the ledger and the result store read (`PGPASSWORD`, `AWS_*`): the
    /// process's, overridden by the same names from flags and the configuration file, so a
    /// secret kept in the file is read too.
    var dependencyEnvironment: [String: String] {
        var out = environment
        for (name, value) in values where name.hasPrefix("AWS_") || name == "PGPASSWORD" { out[name] = value }
        return out
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
