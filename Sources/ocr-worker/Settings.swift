import Foundation
import Kafka

/// Configuration values by name, merged in this order (later wins): built-in defaults,
/// the optional file (`--config`, or `OCR_CONFIG`), the environment, command-line flags.
///
/// The file holds `NAME=value` lines with the same names as the environment variables
/// (`#` starts a comment). librdkafka properties pass through unchanged as
/// `OCR_KAFKA_<PROPERTY>` (dots as `_`, e.g. `OCR_KAFKA_SECURITY_PROTOCOL=SASL_SSL`) or
/// `--kafka-property security.protocol=SASL_SSL`.
struct Settings {
    private(set) var values: [String: String]
    private(set) var kafkaProperties: [String: String] = [:]

    /// Names whose values are secrets: never printed.
    static let secretNames: Set<String> = ["OCR_PROVIDER_API_KEY", "AWS_SECRET_ACCESS_KEY", "OCR_LEDGER_PASSWORD"]

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
        self.values = values
        for (k, v) in values where k.hasPrefix("OCR_KAFKA_") && k != "OCR_KAFKA_BOOTSTRAP" {
            kafkaProperties[k.dropFirst("OCR_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = v
        }
        for flag in kafkaFlags {
            guard let eq = flag.firstIndex(of: "=") else { throw ValidationFailure("--kafka-property needs name=value, got \(flag)") }
            kafkaProperties[String(flag[..<eq])] = String(flag[flag.index(after: eq)...])
        }
    }

    subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    func string(_ name: String, default value: String) -> String { self[name] ?? value }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let text = self[name] else { return value }
        guard let n = Int(text) else { throw ValidationFailure("\(name) must be a whole number, got \(text)") }
        return n
    }

    func double(_ name: String, default value: Double) throws -> Double {
        guard let text = self[name] else { return value }
        guard let n = Double(text) else { throw ValidationFailure("\(name) must be a number, got \(text)") }
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

    /// Every value, secrets replaced, for `check` and start-up logs.
    var redacted: [(String, String)] {
        values.sorted { $0.key < $1.key }.map { k, v in
            let secret = Self.secretNames.contains(k) || KafkaClientConfiguration.isSecret(property: k)
            return (k, secret ? "[redacted]" : Self.withoutURLPassword(v))
        }
    }
}

extension Settings {
    /// `scheme://user:secret@host` -> `scheme://user:***@host`; other values unchanged.
    static func withoutURLPassword(_ value: String) -> String {
        guard var components = URLComponents(string: value), components.password != nil else { return value }
        components.password = "***"
        return components.string ?? "[redacted]"
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
