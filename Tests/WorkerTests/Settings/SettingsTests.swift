import Foundation
import Testing

/// `ocr-worker`'s settings through swift-configuration, end to end through `ocr-worker
/// check`: layer precedence, typed errors naming the setting, and secrets kept out of the
/// printed configuration and of errors.
@Suite("Worker settings")
struct SettingsTests {
    /// Fails validation after the configuration is printed, before any connection.
    static let stopBeforeConnecting = "OCR_TOPIC_PARTITIONS"

    @Test("a flag beats the environment, which beats the file; the file beats the default")
    func precedence() async throws {
        let cli = try WorkerCLI()
        let file = try WorkerCLI.file([
            "# every layer sets some topics",
            "OCR_JOBS_TOPIC=file-jobs", "OCR_RESULTS_TOPIC=file-results", " OCR_DLQ_TOPIC = file-dlq ",
            // Shadowed by the environment: never converted, so never an error.
            "OCR_MAX_IN_FLIGHT=not-a-number",
            "OCR_TOPIC_PARTITIONS=3",
        ])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let outcome = try await cli.run(
            ["check", "--config", file, "--jobs-topic", "flag-jobs"],
            environment: [
                "OCR_JOBS_TOPIC": "env-jobs", "OCR_RESULTS_TOPIC": "env-results", "OCR_MAX_IN_FLIGHT": "8",
                "OCR_PROVIDER_API_KEY": "k", Self.stopBeforeConnecting: "0",
            ])
        #expect(outcome.status != 0)
        let lines = outcome.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("OCR_JOBS_TOPIC=flag-jobs"))
        #expect(lines.contains("OCR_RESULTS_TOPIC=env-results"))
        #expect(lines.contains("OCR_DLQ_TOPIC=file-dlq"))
        #expect(lines.contains("OCR_MAX_IN_FLIGHT=8"))
        // The environment's 0 beat the file's 3, and the shadowed bad number was not read.
        #expect(outcome.stderr.contains("OCR_TOPIC_PARTITIONS must be a whole number between 1 and"))
        #expect(!outcome.all.contains("OCR_MAX_IN_FLIGHT must"))
    }

    @Test(
        "a value that does not convert or is out of range is an error naming the setting",
        arguments: [
            ("OCR_MAX_IN_FLIGHT", "many", "OCR_MAX_IN_FLIGHT must be a whole number between -2147483648 and 2147483647, got many"),
            ("OCR_MAX_IN_FLIGHT", "4294967296", "OCR_MAX_IN_FLIGHT must be a whole number between"),
            ("OCR_PROVIDER_RPS", "fast", "OCR_PROVIDER_RPS must be a finite number, got fast"),
            ("OCR_PROVIDER_RPS", "inf", "OCR_PROVIDER_RPS must be a finite number"),
            ("OCR_PASS_THROUGH", "maybe", "OCR_PASS_THROUGH must be true or false, got maybe"),
            ("OCR_HTTP_PORT", "70000", "OCR_HTTP_PORT must be a whole number between -2147483648 and 65535, got 70000"),
            ("OCR_DRAIN_TIMEOUT_SECONDS", "-1", "OCR_DRAIN_TIMEOUT_SECONDS must be a whole number of seconds between 0 and"),
            ("OCR_DRAIN_TIMEOUT_SECONDS", "1.5", "OCR_DRAIN_TIMEOUT_SECONDS must be a whole number of seconds"),
            ("OCR_RESULT_DOWNLOAD_TIMEOUT_SECONDS", "0", "OCR_RESULT_DOWNLOAD_TIMEOUT_SECONDS must be a whole number of seconds between 1 and"),
        ])
    func typedError(name: String, value: String, message: String) async throws {
        let cli = try WorkerCLI()
        // From the file, the environment and a flag alike (--http-port is run's flag, so
        // the flag case uses run, which validates before it connects).
        let file = try WorkerCLI.file(["\(name)=\(value)"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let base = ["OCR_PROVIDER_API_KEY": "k", "OCR_LEDGER_URL": "sqlite::memory:", "OCR_HTTP_PORT": "-1"]
        let fromFile = try await cli.run(["check", "--config", file], environment: base.filter { $0.key != name })
        let fromEnvironment = try await cli.run(["check"], environment: base.merging([name: value]) { $1 })
        for outcome in [fromFile, fromEnvironment] {
            #expect(outcome.status != 0)
            #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        }
        if name == "OCR_HTTP_PORT" || name == "OCR_MAX_IN_FLIGHT" {
            let flag = name == "OCR_HTTP_PORT" ? "--http-port" : "--max-in-flight"
            let fromFlag = try await cli.run(["run", flag, value], environment: base.filter { $0.key != name })
            #expect(fromFlag.status != 0)
            #expect(fromFlag.stderr.contains(message), "\(fromFlag.stderr)")
        }
    }

    @Test("a file line without = is an error naming the file and line, not the line")
    func malformedFileLine() async throws {
        let cli = try WorkerCLI()
        let file = try WorkerCLI.file(["# ok", "OCR_JOBS_TOPIC=a", "OCR_PROVIDER_API_KEY s3cret-typo"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let outcome = try await cli.run(["check", "--config", file], environment: [:])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("\(file):3: expected NAME=value"))
        #expect(!outcome.all.contains("s3cret-typo"))
    }

    @Test("librdkafka properties pass through from every layer; a name the lookup cannot find is an error")
    func kafkaPassThrough() async throws {
        let cli = try WorkerCLI()
        let file = try WorkerCLI.file(["OCR_KAFKA_SASL_MECHANISM=PLAIN", "OCR_KAFKA_CLIENT_RACK=file-rack"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let outcome = try await cli.run(
            ["check", "--config", file, "--kafka-property", "client.rack=flag-rack"],
            environment: ["OCR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "OCR_PROVIDER_API_KEY": "k", Self.stopBeforeConnecting: "0"])
        let lines = outcome.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for line in [
            "OCR_KAFKA_SASL_MECHANISM=PLAIN", "OCR_KAFKA_SECURITY_PROTOCOL=SASL_SSL", "OCR_KAFKA_CLIENT_RACK=file-rack",
            "--kafka-property client.rack=flag-rack",
        ] {
            #expect(lines.contains(line), "\(line)")
        }
        let lowerCase = try await cli.run(["check"], environment: ["OCR_KAFKA_sasl_mechanism": "PLAIN"])
        #expect(lowerCase.status != 0)
        #expect(lowerCase.stderr.contains("OCR_KAFKA_sasl_mechanism: write librdkafka properties as OCR_KAFKA_"))
    }

    @Test("swift-configuration's access log (CONFIG_ACCESS_LOG_FILE) redacts secrets, URL passwords included")
    func accessLogRedacts() async throws {
        let cli = try WorkerCLI()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let file = try WorkerCLI.file(["OCR_KAFKA_SASL_PASSWORD=sasl-file-VALUE"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let outcome = try await cli.run(
            ["check", "--config", file],
            environment: [
                "CONFIG_ACCESS_LOG_FILE": log, "OCR_PROVIDER_API_KEY": "api-key-VALUE",
                "OCR_LEDGER_URL": "postgres://ocr:url-password-VALUE@db.internal/ocr", Self.stopBeforeConnecting: "0",
            ])
        #expect(outcome.status != 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("OCR_PROVIDER_API_KEY"))
        #expect(text.contains("<REDACTED>"))
        for secret in ["api-key-VALUE", "url-password-VALUE", "sasl-file-VALUE"] {
            #expect(!text.contains(secret), "\(secret) in the access log")
            #expect(!outcome.all.contains(secret), "\(secret) printed")
        }
    }

    @Test("secrets from every layer are redacted in the printed configuration and never in errors")
    func secretsNeverPrinted() async throws {
        let cli = try WorkerCLI()
        let secrets = [
            "api-key-VALUE", "aws-secret-VALUE", "aws-token-VALUE", "ledger-password-VALUE", "sasl-file-VALUE",
            "pg-password-VALUE", "ssl-flag-VALUE", "sasl-env-VALUE",
        ]
        let file = try WorkerCLI.file([
            "OCR_LEDGER_URL=postgres://ocr@db.internal:5432/ocr", "OCR_LEDGER_PASSWORD=ledger-password-VALUE",
            "OCR_KAFKA_SASL_PASSWORD=sasl-file-VALUE", "PGPASSWORD=pg-password-VALUE",
        ])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let environment = [
            "OCR_PROVIDER_API_KEY": "api-key-VALUE", "AWS_SECRET_ACCESS_KEY": "aws-secret-VALUE",
            "AWS_SESSION_TOKEN": "aws-token-VALUE", "OCR_KAFKA_SSL_KEY_PASSWORD": "sasl-env-VALUE",
            Self.stopBeforeConnecting: "0",
        ]
        let outcome = try await cli.run(
            ["check", "--config", file, "--kafka-property", "ssl.key.password=ssl-flag-VALUE"], environment: environment)
        #expect(outcome.status != 0)
        for secret in secrets { #expect(!outcome.all.contains(secret), "\(secret) printed") }
        let lines = outcome.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for name in [
            "OCR_PROVIDER_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OCR_LEDGER_PASSWORD", "OCR_KAFKA_SASL_PASSWORD",
            "OCR_KAFKA_SSL_KEY_PASSWORD", "PGPASSWORD", "--kafka-property ssl.key.password",
        ] {
            #expect(lines.contains("\(name)=[redacted]"), "\(name)")
        }
        // The password is folded into the ledger URL, and hidden there too.
        #expect(lines.contains("OCR_LEDGER_URL=postgres://ocr:***@db.internal:5432/ocr"))

        // Errors about secrets: a password without a PostgreSQL URL, a property flag
        // without its `=`.
        let passwordError = try await cli.run(
            ["check"], environment: ["OCR_LEDGER_PASSWORD": "ledger-password-VALUE", "OCR_LEDGER_URL": "sqlite::memory:"])
        #expect(passwordError.stderr.contains("OCR_LEDGER_PASSWORD"))
        let flagError = try await cli.run(["check", "--kafka-property", "sasl.password:ssl-flag-VALUE"], environment: [:])
        #expect(flagError.stderr.contains("--kafka-property needs name=value"))
        for outcome in [passwordError, flagError] {
            #expect(outcome.status != 0)
            for secret in secrets { #expect(!outcome.all.contains(secret), "\(secret) in an error") }
        }
    }
}
