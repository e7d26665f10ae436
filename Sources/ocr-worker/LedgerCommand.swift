import ArgumentParser
import Foundation
import JobCore
import Ledger
import Logging
import WorkerApp

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Read the job ledger.", subcommands: [Show.self, Stats.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job's ledger row, as JSON.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Ledger URL. Env: OCR_LEDGER_URL") var ledger: String?
        @Argument var jobID: String

        func run() async throws {
            let settings = try await common.settings(["OCR_LEDGER_URL": ledger])
            let store = try await LedgerCommand.open(settings)
            defer { Task { await store.close() } }
            guard let r = try await store.record(jobID: jobID) else { throw ValidationError("no job \(jobID) in the ledger") }
            var object: [String: Any] = [
                "job_id": r.jobID, "state": r.state.rawValue, "fingerprint": r.fingerprint, "task_id": r.taskID ?? NSNull(),
                "create_attempts": r.createAttempts, "poll_attempts": r.pollAttempts,
                "first_seen_at": ISO8601DateFormatter().string(from: r.firstSeenAt),
                "updated_at": ISO8601DateFormatter().string(from: r.updatedAt),
                "published_at": r.publishedAt.map { ISO8601DateFormatter().string(from: $0) } ?? NSNull(),
            ]
            // The create claim's age by the database's clock (a shared ledger's `creating` row).
            if let age = r.claimAge { object["claim_age_seconds"] = (age * 1000).rounded() / 1000 }
            if let bytes = r.resultMessage { object["result"] = (try? JSONSerialization.jsonObject(with: Data(bytes))) ?? NSNull() }
            print(TerminalText.safe(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])))
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs per state.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Ledger URL. Env: OCR_LEDGER_URL") var ledger: String?

        func run() async throws {
            let settings = try await common.settings(["OCR_LEDGER_URL": ledger])
            let store = try await LedgerCommand.open(settings)
            defer { Task { await store.close() } }
            let counts = try await store.countByState()
            for state in JobState.allCases { print("\(state.rawValue): \(counts[state] ?? 0)") }
        }
    }

    static func open(_ settings: Settings) async throws -> any JobLedger {
        guard let url = settings.ledgerURL else { throw ValidationError("no ledger: pass --ledger or set OCR_LEDGER_URL") }
        var logger = Logger(label: "ocr-worker.ledger")
        logger.logLevel = .warning
        return try await makeLedger(url: url, logger: logger)
    }
}
