import Foundation
import TestSupport
import Testing
import Worker
import WorkerApp

/// `ocr-worker`'s settings through swift-configuration, in process: layer precedence,
/// range checks naming the setting, and secrets kept out of the printed configuration and
/// of errors. (`WorkerCLITests` runs the binary for what only a process shows.)
@Suite("Worker settings")
struct SettingsTests {
    static let version = "test"

    /// A configuration file with `lines`; the caller removes it.
    static func file(_ lines: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-settings-\(UUID().uuidString).env").path
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// What `body` threw, as the user would read it; nil when it did not throw.
    static func failure(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func configuration(_ settings: Settings) throws -> WorkerConfiguration {
        try WorkerConfiguration(settings, version: version)
    }

    @Test("a flag beats the environment, which beats the file; the file beats the default")
    func precedence() async throws {
        let file = try Self.file([
            "# every layer sets some topics",
            "OCR_JOBS_TOPIC=file-jobs", "OCR_RESULTS_TOPIC=file-results", " OCR_DLQ_TOPIC = file-dlq ",
            // Shadowed by the environment: never converted, so never an error.
            "OCR_MAX_IN_FLIGHT=not-a-number",
            "OCR_TOPIC_PARTITIONS=3",
        ])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let settings = try await Settings(
            file: file,
            environment: [
                "OCR_JOBS_TOPIC": "env-jobs", "OCR_RESULTS_TOPIC": "env-results", "OCR_MAX_IN_FLIGHT": "8",
                "OCR_PROVIDER_API_KEY": "k", "OCR_TOPIC_PARTITIONS": "0",
            ],
            flags: ["OCR_JOBS_TOPIC": "flag-jobs"], kafkaFlags: [])
        #expect(settings.jobsTopic == "flag-jobs")
        #expect(settings.resultsTopic == "env-results")
        #expect(settings.deadLetterTopic == "file-dlq")
        #expect(settings["OCR_MAX_IN_FLIGHT"] == "8")
        #expect(settings.groupID == "ocr-worker", "the default")
        // The environment's 0 beat the file's 3, and the shadowed bad number was not read.
        let error = await Self.failure { _ = try Self.configuration(settings) }
        #expect(error?.hasPrefix("OCR_TOPIC_PARTITIONS must be a whole number between 1 and") == true, "\(error ?? "no error")")
    }

    @Test("every default is within its setting's range")
    func defaultsAreInRange() async throws {
        let settings = try await Settings(file: nil, environment: ["OCR_PROVIDER_API_KEY": "k"], flags: [:], kafkaFlags: [])
        let configuration = try Self.configuration(settings)
        #expect(configuration.consumption.maxInFlight == 64)
        #expect(configuration.processing.maxConcurrentCreates == 1)
        #expect(configuration.provider.budget.requestsPerSecond == 2)
    }

    @Test(
        "a value that does not convert or is out of range is an error naming the setting, from every layer",
        arguments: [
            ("OCR_MAX_IN_FLIGHT", "many", "OCR_MAX_IN_FLIGHT must be a whole number between 1 and 100000, got many"),
            ("OCR_MAX_IN_FLIGHT", "0", "OCR_MAX_IN_FLIGHT must be a whole number between 1 and 100000, got 0"),
            ("OCR_MAX_IN_FLIGHT", "4294967296", "OCR_MAX_IN_FLIGHT must be a whole number between 1 and 100000"),
            ("OCR_PROVIDER_RPS", "fast", "OCR_PROVIDER_RPS must be a number between 0.001 and 10000, got fast"),
            ("OCR_PROVIDER_RPS", "0", "OCR_PROVIDER_RPS must be a number between 0.001 and 10000, got 0"),
            ("OCR_PROVIDER_RPS", "-2", "OCR_PROVIDER_RPS must be a number between"),
            ("OCR_PROVIDER_RPS", "inf", "OCR_PROVIDER_RPS must be a number between"),
            ("OCR_PROVIDER_RPS", "nan", "OCR_PROVIDER_RPS must be a number between"),
            ("OCR_CREATE_CLAIM_TIMEOUT_SECONDS", "0", "OCR_CREATE_CLAIM_TIMEOUT_SECONDS must be a whole number of seconds between 1 and"),
            ("OCR_MAX_CONCURRENT_CREATES", "0", "OCR_MAX_CONCURRENT_CREATES must be a whole number between 1 and 1024, got 0"),
            ("OCR_PROVIDER_PODS_PER_KEY", "0", "OCR_PROVIDER_PODS_PER_KEY must be a whole number between 1 and"),
            ("OCR_POLL_PLAN_DONE_PROBABILITY", "1.5", "OCR_POLL_PLAN_DONE_PROBABILITY must be a number between 0.01 and 0.99"),
            ("OCR_PASS_THROUGH", "maybe", "OCR_PASS_THROUGH must be true or false, got maybe"),
            ("OCR_REPLAY_KEY", "short-secret", "OCR_REPLAY_KEY must be at least 16 bytes"),
            ("OCR_HTTP_PORT", "70000", "OCR_HTTP_PORT must be a whole number between -1 and 65535, got 70000"),
            ("OCR_DRAIN_TIMEOUT_SECONDS", "-1", "OCR_DRAIN_TIMEOUT_SECONDS must be a whole number of seconds between 0 and"),
            ("OCR_DRAIN_TIMEOUT_SECONDS", "1.5", "OCR_DRAIN_TIMEOUT_SECONDS must be a whole number of seconds"),
            ("OCR_RESULT_DOWNLOAD_TIMEOUT_SECONDS", "0", "OCR_RESULT_DOWNLOAD_TIMEOUT_SECONDS must be a whole number of seconds between 1 and"),
        ])
    func rangeChecked(name: String, value: String, message: String) async throws {
        let base = ["OCR_PROVIDER_API_KEY": "k"]
        let file = try Self.file(["\(name)=\(value)"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let layers = [
            ("file", try await Settings(file: file, environment: base, flags: [:], kafkaFlags: [])),
            ("environment", try await Settings(file: nil, environment: base.merging([name: value]) { $1 }, flags: [:], kafkaFlags: [])),
            ("flag", try await Settings(file: nil, environment: base, flags: [name: value], kafkaFlags: [])),
        ]
        for (layer, settings) in layers {
            let error = await Self.failure { _ = try Self.configuration(settings) }
            #expect(error?.hasPrefix(message) == true, "\(layer): \(error ?? "no error")")
        }
    }

    @Test("a file line without = is an error naming the file and line, not the line")
    func malformedFileLine() async throws {
        let file = try Self.file(["# ok", "OCR_JOBS_TOPIC=a", "OCR_PROVIDER_API_KEY s3cret-typo"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let error = await Self.failure { _ = try await Settings(file: file, environment: [:], flags: [:], kafkaFlags: []) }
        #expect(error == "\(file):3: expected NAME=value")
    }

    @Test("librdkafka properties pass through from every layer; a name the lookup cannot find is an error")
    func kafkaPassThrough() async throws {
        let file = try Self.file(["OCR_KAFKA_SASL_MECHANISM=PLAIN", "OCR_KAFKA_CLIENT_RACK=file-rack"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let settings = try await Settings(
            file: file, environment: ["OCR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"], flags: [:],
            kafkaFlags: ["client.rack=flag-rack"])
        #expect(settings.kafkaProperties == ["sasl.mechanism": "PLAIN", "security.protocol": "SASL_SSL", "client.rack": "flag-rack"])
        let printed = settings.redacted.map { "\($0.0)=\($0.1)" }
        for line in [
            "OCR_KAFKA_SASL_MECHANISM=PLAIN", "OCR_KAFKA_SECURITY_PROTOCOL=SASL_SSL", "OCR_KAFKA_CLIENT_RACK=file-rack",
            "--kafka-property client.rack=flag-rack",
        ] {
            #expect(printed.contains(line), "\(line)")
        }
        let error = await Self.failure {
            _ = try await Settings(file: nil, environment: ["OCR_KAFKA_sasl_mechanism": "PLAIN"], flags: [:], kafkaFlags: [])
        }
        #expect(error?.hasPrefix("OCR_KAFKA_sasl_mechanism: write librdkafka properties as OCR_KAFKA_") == true)
    }

    @Test("secrets from every layer are redacted in the printed configuration and never in errors")
    func secretsNeverPrinted() async throws {
        let secrets = [
            "api-key-VALUE", "aws-secret-VALUE", "aws-token-VALUE", "ledger-password-VALUE", "sasl-file-VALUE",
            "pg-password-VALUE", "ssl-flag-VALUE", "sasl-env-VALUE",
        ]
        let file = try Self.file([
            "OCR_LEDGER_URL=postgres://ocr@db.internal:5432/ocr", "OCR_LEDGER_PASSWORD=ledger-password-VALUE",
            "OCR_KAFKA_SASL_PASSWORD=sasl-file-VALUE", "PGPASSWORD=pg-password-VALUE",
        ])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let settings = try await Settings(
            file: file,
            environment: [
                "OCR_PROVIDER_API_KEY": "api-key-VALUE", "AWS_SECRET_ACCESS_KEY": "aws-secret-VALUE",
                "AWS_SESSION_TOKEN": "aws-token-VALUE", "OCR_KAFKA_SSL_KEY_PASSWORD": "sasl-env-VALUE",
            ],
            flags: [:], kafkaFlags: ["ssl.key.password=ssl-flag-VALUE"])
        let printed = settings.redacted.map { "\($0.0)=\($0.1)" }
        for secret in secrets { #expect(!printed.joined(separator: "\n").contains(secret), "\(secret) printed") }
        for name in [
            "OCR_PROVIDER_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OCR_LEDGER_PASSWORD", "OCR_KAFKA_SASL_PASSWORD",
            "OCR_KAFKA_SSL_KEY_PASSWORD", "PGPASSWORD", "--kafka-property ssl.key.password",
        ] {
            #expect(printed.contains("\(name)=[redacted]"), "\(name)")
        }
        // The password is folded into the ledger URL, and hidden there too.
        #expect(printed.contains("OCR_LEDGER_URL=postgres://ocr:***@db.internal:5432/ocr"))
        #expect(settings.ledgerURL?.contains("ledger-password-VALUE") == true, "the ledger gets the password")

        // Errors about secrets: a password without a PostgreSQL URL, a property flag
        // without its `=`, a secret's value that does not convert.
        let errors = [
            await Self.failure {
                _ = try await Settings(
                    file: nil, environment: ["OCR_LEDGER_PASSWORD": "ledger-password-VALUE", "OCR_LEDGER_URL": "sqlite::memory:"],
                    flags: [:], kafkaFlags: [])
            },
            await Self.failure {
                _ = try await Settings(file: nil, environment: [:], flags: [:], kafkaFlags: ["sasl.password:ssl-flag-VALUE"])
            },
        ]
        #expect(errors[0]?.contains("OCR_LEDGER_PASSWORD") == true)
        #expect(errors[1] == "--kafka-property needs name=value")
        for error in errors {
            for secret in secrets { #expect(error?.contains(secret) != true, "\(secret) in an error") }
        }
    }
}
