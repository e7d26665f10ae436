import Foundation
import TestSupport
import Testing

/// What only the `ocr-worker` process shows: its flags reach the settings under their
/// variables' names and rules, the configuration is printed redacted, and swift-
/// configuration's access log (configured from the process environment) hides secrets.
@Suite("Worker command line", .tags(.e2e))
struct WorkerCLITests {
    @Test("run's flags are read by their variables' rules; check prints the configuration; the access log redacts secrets")
    func processLevel() async throws {
        let cli = try WorkerCLI()
        let base = ["OCR_PROVIDER_API_KEY": "api-key-VALUE", "OCR_LEDGER_URL": "sqlite::memory:", "OCR_HTTP_PORT": "-1"]

        let refused = try await cli.run(["run", "--max-in-flight", "0"], environment: base)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("OCR_MAX_IN_FLIGHT must be a whole number between 1 and 100000, got 0"), "\(refused.stderr)")

        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let file = try WorkerCLI.file(["OCR_KAFKA_SASL_PASSWORD=sasl-file-VALUE"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        // The partition count fails validation after the configuration is printed, before
        // any connection.
        let checked = try await cli.run(
            ["check", "--config", file, "--jobs-topic", "flag-jobs"],
            environment: base.merging([
                "CONFIG_ACCESS_LOG_FILE": log, "OCR_LEDGER_URL": "postgres://ocr:url-password-VALUE@db.internal/ocr",
                "OCR_TOPIC_PARTITIONS": "0",
            ]) { $1 })
        #expect(checked.status != 0)
        let lines = checked.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("OCR_JOBS_TOPIC=flag-jobs"))
        #expect(lines.contains("OCR_PROVIDER_API_KEY=[redacted]"))
        #expect(checked.stderr.contains("OCR_TOPIC_PARTITIONS must be a whole number between 1 and"))
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("OCR_PROVIDER_API_KEY"))
        #expect(text.contains("<REDACTED>"))
        for secret in ["api-key-VALUE", "url-password-VALUE", "sasl-file-VALUE"] {
            #expect(!text.contains(secret), "\(secret) in the access log")
            #expect(!checked.all.contains(secret), "\(secret) printed")
            #expect(!refused.all.contains(secret), "\(secret) printed")
        }
    }
}
