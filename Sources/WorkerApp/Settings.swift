import Configuration
public import Foundation
import JobContract
public import Kafka
import Ledger

/// Configuration values by name, looked up through a swift-configuration `ConfigReader`
/// over one provider per layer; the first layer that has a value wins: command-line
/// flags, then the environment (`OCR_*`, `AWS_*`), then the optional file (`--config`, or
/// `OCR_CONFIG`), then the default the read names.
///
/// The file holds `NAME=value` lines with the same names as the environment variables
/// (`#` starts a comment); the library's `.env` reader (`EnvironmentVariablesProvider`)
/// reads it, after ``SettingsFile`` has refused lines without `=`. librdkafka properties
/// pass through unchanged as `OCR_KAFKA_<PROPERTY>` (dots as `_`, e.g.
/// `OCR_KAFKA_SECURITY_PROTOCOL=SASL_SSL`) or `--kafka-property security.protocol=SASL_SSL`.
///
/// Flags are kept as the text the user typed, under their variable names, in an
/// `EnvironmentVariablesProvider` too, so a flag is converted by exactly the rules its
/// variable is (an in-memory provider holds typed values and would refuse the text "64"
/// for an integer read).
///
/// An empty value is unset: empty flags and environment variables are left out of their
/// layer, and an empty value in the file (the last layer) reads as the default.
///
/// Reads are typed and strict: a value that is set but does not convert, or is out of the
/// read's range, throws a ``ValidationFailure`` naming the setting (never a secret's
/// value); it never falls back to the default, as the library's non-`required` reads
/// would.
///
/// Secrets: ``isSecret(_:)`` decides, for every provider (`SecretsSpecifier`) and every
/// read (`isSecret:`), so the library's access logs redact them; and every value printed
/// or put in an error goes through ``printable(_:_:)``. The API key is read by the
/// provider client, `AWS_*` by the S3 store through ``dependencyEnvironment``,
/// `OCR_LEDGER_PASSWORD` is folded into ``ledgerURL`` here.
public struct Settings: Sendable {
    private let reader: ConfigReader
    /// Every name set in some layer (flags, environment, file), for printing and for the
    /// families read by prefix (`OCR_KAFKA_*`, `AWS_*`).
    private let names: Set<String>
    /// `OCR_LEDGER_URL` with `OCR_LEDGER_PASSWORD` (say, from a Kubernetes secret) folded
    /// in, so every command that opens the ledger uses it. Read the ledger URL only here.
    public let ledgerURL: String?
    /// librdkafka properties: `OCR_KAFKA_*` (but the bootstrap servers), then the
    /// `--kafka-property` flags over them.
    public let kafkaProperties: [String: String]
    /// The `--kafka-property` flags (printed separately; the `OCR_KAFKA_*` ones are among
    /// the named settings).
    private let kafkaFlagProperties: [String: String]
    private let environment: [String: String]

    /// Names whose values are secrets that the worker reads. ``isSecret(_:)`` also takes
    /// every name ``ConfigurationRedaction`` finds secret.
    public static let secretNames: Set<String> = [
        "OCR_PROVIDER_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OCR_LEDGER_PASSWORD", "OCR_REPLAY_KEY",
    ]

    /// Whether the value of `name` is a secret: never printed, logged or put in an error.
    public static func isSecret(_ name: String) -> Bool {
        secretNames.contains(name) || ConfigurationRedaction.isSecret(name: name)
    }

    /// `value` as it may be printed: a secret's placeholder, or the value with URL
    /// passwords and secret query parameters hidden.
    public static func printable(_ name: String, _ value: String) -> String {
        isSecret(name) ? ConfigurationRedaction.placeholder : ConfigurationRedaction.redactingURLSecrets(value)
    }

    public init(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment, flags: [String: String?],
        kafkaFlags: [String]
    ) async throws {
        // By name, and by value: a URL that carries a password or a secret query parameter
        // (a ledger URL with its password in it) is secret as a whole, so the library's
        // access log (CONFIG_ACCESS_LOG_FILE) never shows it.
        let secrets = SecretsSpecifier<String, String>.dynamic { name, value in
            Settings.isSecret(name) || ConfigurationRedaction.redactingURLSecrets(value) != value
        }
        let flagged = flags.compactMapValues { $0 }.filter { !$0.value.isEmpty }
        let exported = environment.filter { ($0.key.hasPrefix("OCR_") || $0.key.hasPrefix("AWS_")) && !$0.value.isEmpty }
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: flagged, secretsSpecifier: secrets),
            EnvironmentVariablesProvider(environmentVariables: exported, secretsSpecifier: secrets),
        ]
        var names = Set(flagged.keys).union(exported.keys)
        if let path = file ?? exported["OCR_CONFIG"] {
            names.formUnion(try SettingsFile.names(atPath: path))
            do {
                providers.append(try await EnvironmentVariablesProvider(environmentFilePath: .init(path), secretsSpecifier: secrets))
            } catch {
                throw ValidationFailure("cannot read the configuration file \(path)")
            }
        }
        let reader = ConfigReader(providers: providers)
        let text = { (name: String) in Self.text(reader, name) }

        if let password = text("OCR_LEDGER_PASSWORD") {
            do {
                ledgerURL = try LedgerConfiguration.url(text("OCR_LEDGER_URL") ?? "", withPassword: password)
            } catch {
                throw ValidationFailure("OCR_LEDGER_PASSWORD: \(error)")
            }
        } else {
            ledgerURL = text("OCR_LEDGER_URL")
        }

        var kafkaProperties: [String: String] = [:]
        for name in names where name.hasPrefix("OCR_KAFKA_") && name != "OCR_KAFKA_BOOTSTRAP" {
            // The library looks a name up upper-cased, with every character but letters
            // and digits as `_`: any other spelling would never be found, and the property
            // would be dropped without a word.
            guard name.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }) else {
                throw ValidationFailure("\(name): write librdkafka properties as OCR_KAFKA_ and the name in capitals, dots as _")
            }
            guard let value = text(name) else { continue }
            kafkaProperties[name.dropFirst("OCR_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = value
        }
        var kafkaFlagProperties: [String: String] = [:]
        for flag in kafkaFlags {
            guard let eq = flag.firstIndex(of: "=") else {
                // The flag may be a secret without its `=`: never echo it.
                throw ValidationFailure("--kafka-property needs name=value")
            }
            kafkaFlagProperties[String(flag[..<eq])] = String(flag[flag.index(after: eq)...])
        }
        kafkaProperties.merge(kafkaFlagProperties) { _, flag in flag }

        self.reader = reader
        self.names = names
        self.environment = environment
        self.kafkaProperties = kafkaProperties
        self.kafkaFlagProperties = kafkaFlagProperties
    }

    /// The value of `name` from the first layer that has one, as text; `nil` when unset or
    /// empty.
    private static func text(_ reader: ConfigReader, _ name: String) -> String? {
        reader.string(forKey: ConfigKey([name]), isSecret: isSecret(name)).flatMap { $0.isEmpty ? nil : $0 }
    }

    public subscript(name: String) -> String? { Self.text(reader, name) }

    public func string(_ name: String, default value: String) -> String { self[name] ?? value }

    /// The range every whole number the worker takes fits: callers may convert to `Int32`
    /// or multiply without overflowing.
    public static let int32Range = Int(Int32.min)...Int(Int32.max)

    /// A whole number within `range` (at most `Int32`'s).
    public func int(_ name: String, default value: Int, in range: ClosedRange<Int> = int32Range) throws -> Int {
        guard let text = self[name] else { return value }
        let number = try? reader.requiredInt(forKey: ConfigKey([name]), isSecret: Self.isSecret(name))
        guard let number, range.contains(number) else {
            throw ValidationFailure(
                "\(name) must be a whole number between \(range.lowerBound) and \(range.upperBound), got \(Self.printable(name, text))")
        }
        return number
    }

    /// A whole number of seconds within `range` (at most `Int32`'s), through the library's
    /// `Duration` conversion.
    public func seconds(_ name: String, default value: Int, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws -> Duration {
        guard let text = self[name] else { return .seconds(value) }
        let duration = try? reader.requiredInt(forKey: ConfigKey([name]), as: Duration.self, isSecret: Self.isSecret(name))
        guard let duration, range.contains(Int(duration.components.seconds)) else {
            throw ValidationFailure(
                "\(name) must be a whole number of seconds between \(range.lowerBound) and \(range.upperBound), got \(Self.printable(name, text))")
        }
        return duration
    }

    /// A finite number within `range`.
    public func double(
        _ name: String, default value: Double,
        in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
    ) throws -> Double {
        guard let text = self[name] else { return value }
        let number = try? reader.requiredDouble(forKey: ConfigKey([name]), isSecret: Self.isSecret(name))
        guard let number, number.isFinite, range.contains(number) else {
            throw ValidationFailure(
                "\(name) must be a number between \(Self.number(range.lowerBound)) and \(Self.number(range.upperBound)), "
                    + "got \(Self.printable(name, text))")
        }
        return number
    }

    /// `number` as a person writes it: 10000, not 10000.0.
    private static func number(_ number: Double) -> String { String(format: "%g", number) }

    /// `true`, `false`, `yes`, `no`, `1`, `0` (the library's), and `on` and `off`, which the
    /// worker took before it read settings through the library.
    public func bool(_ name: String, default value: Bool) throws -> Bool {
        guard let text = self[name] else { return value }
        if let flag = try? reader.requiredBool(forKey: ConfigKey([name]), isSecret: Self.isSecret(name)) { return flag }
        switch text.lowercased() {
        case "on": return true
        case "off": return false
        default: throw ValidationFailure("\(name) must be true or false, got \(Self.printable(name, text))")
        }
    }

    public func kafka(clientID: String) -> KafkaClientConfiguration {
        KafkaClientConfiguration(
            bootstrapServers: string("OCR_KAFKA_BOOTSTRAP", default: "127.0.0.1:9092").split(separator: ",").map(String.init),
            clientID: clientID, properties: kafkaProperties)
    }

    /// Every value set, secrets replaced, for `check` and start-up logs: the settings by
    /// name (the ledger URL with its folded password hidden), then the `--kafka-property`
    /// flags as `--kafka-property name`.
    public var redacted: [(String, String)] {
        let named: [(String, String)] = names.sorted().compactMap { name in
            guard let value = name == "OCR_LEDGER_URL" ? ledgerURL : self[name] else { return nil }
            return (name, Self.printable(name, value))
        }
        let flagged = kafkaFlagProperties.sorted { $0.key < $1.key }.map {
            ("--kafka-property \($0.key)", Self.printable($0.key, $0.value))
        }
        return named + flagged
    }

    /// The environment the ledger and the result store read (`PGPASSWORD`, `AWS_*`): the
    /// process's, overridden by the same names from flags and the configuration file, so a
    /// secret kept in the file is read too.
    public var dependencyEnvironment: [String: String] {
        var out = environment
        for name in names where name.hasPrefix("AWS_") || name == "PGPASSWORD" {
            if let value = self[name] { out[name] = value }
        }
        return out
    }
}

extension Settings {
    /// `OCR_REPLAY_KEY`, the key of `ocr.replay` signatures (``ReplaySignature``): the
    /// workers check them, `dlq replay` makes them. Nil when unset.
    public var replayKey: [UInt8]? {
        get throws {
            guard let text = self["OCR_REPLAY_KEY"] else { return nil }
            guard text.utf8.count >= ReplaySignature.minimumKeyBytes else {
                throw ValidationFailure("OCR_REPLAY_KEY must be at least \(ReplaySignature.minimumKeyBytes) bytes")
            }
            return Array(text.utf8)
        }
    }

    public var jobsTopic: String { string("OCR_JOBS_TOPIC", default: "ocr.jobs") }
    public var resultsTopic: String { string("OCR_RESULTS_TOPIC", default: "ocr.results") }
    public var deadLetterTopic: String { string("OCR_DLQ_TOPIC", default: "ocr.jobs.dlq") }
    public var groupID: String { string("OCR_GROUP_ID", default: "ocr-worker") }
}
