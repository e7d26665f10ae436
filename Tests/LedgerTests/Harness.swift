import Foundation
import JobCore
import Ledger
import Logging
import PostgresSupport
import TestSupport
import Testing

/// The backends the contract suite runs against. PostgreSQL comes from
/// `OCR_TEST_POSTGRES_URL`; without it the PostgreSQL cases fail (never skip).
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// One isolated ledger location: a new SQLite file in a temporary directory, or a new
/// schema in the test PostgreSQL database. `open()` may be called several times for
/// several ledger instances over the same data.
struct LedgerHarness: Sendable {
    let backend: Backend
    let configuration: LedgerConfiguration
    let directory: URL?

    init(_ backend: Backend) throws {
        self.backend = backend
        let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-test-\(tag)")
            self.directory = directory
            configuration = .sqlite(path: directory.appendingPathComponent("ledger.db").path)
        case .postgres:
            var options = try TestPostgres.options(schemaPrefix: "ledger_test")
            options.maximumConnections = 8
            directory = nil
            configuration = .postgres(options)
        }
    }

    func open() async throws -> any JobLedger {
        var logger = Logger(label: "ledger-test")
        logger.logLevel = .warning
        return try await makeLedger(configuration, logger: logger)
    }

    func remove() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }
}

/// Opens a ledger on a fresh location, runs `body`, closes the ledger and removes the
/// location (SQLite) whatever happens.
func withLedger<T: Sendable>(
    _ backend: Backend, _ body: (any JobLedger, LedgerHarness) async throws -> T
) async throws -> T {
    let harness = try LedgerHarness(backend)
    defer { harness.remove() }
    let ledger = try await harness.open()
    do {
        let result = try await body(ledger, harness)
        await ledger.close()
        return result
    } catch {
        await ledger.close()
        throw error
    }
}

/// Fixed instants with sub-millisecond parts, so that rounding is exercised.
let t0 = Date(timeIntervalSince1970: 1_750_000_000.1234)
func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
/// What the ledger returns for a date: UTC, rounded to the millisecond.
func stored(_ date: Date) -> Date {
    Date(timeIntervalSince1970: Double(Int64((date.timeIntervalSince1970 * 1000).rounded())) / 1000)
}

func newJobID(_ label: String = "job") -> String { "\(label)-\(UUID().uuidString)" }

/// Every byte value, twice, plus a zero at the end: results are stored byte for byte.
let allBytes: [UInt8] = Array(0...255) + Array((0...255).reversed()) + [0]

/// Brings a new job into `state` along the normal path.
@discardableResult
func bring(_ ledger: any JobLedger, _ jobID: String, to state: JobState) async throws -> JobRecord {
    var record = try await ledger.accept(jobID: jobID, fingerprint: "fp-\(jobID)", at: at(0)).record
    switch state {
    case .accepted:
        break
    case .failed:
        record = try await ledger.fail(jobID: jobID, resultMessage: Array("failed".utf8), at: at(1))
    case .creating, .submitted, .completed, .published:
        record = try await ledger.markCreating(jobID: jobID, at: at(1))
        if state == .creating { break }
        record = try await ledger.recordTask(jobID: jobID, taskID: "task-\(jobID)", createAttempts: record.createAttempts, at: at(2))
        if state == .submitted { break }
        record = try await ledger.complete(jobID: jobID, resultMessage: Array("done".utf8), at: at(3))
        if state == .completed { break }
        record = try await ledger.markPublished(jobID: jobID, at: at(4))
    }
    #expect(record.state == state)
    return record
}

/// Runs `body` expecting a `LedgerError` with `code`.
func expectLedgerError(
    _ code: LedgerError.Code, _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record(
            "expected a ledger error \(code.rawValue), got success. \(comment.map { "\($0)" } ?? "")",
            sourceLocation: sourceLocation)
    } catch let error as LedgerError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a ledger error \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

/// A second ledger instance over the harness's data (another pod), closed after `body`.
func withSecondLedger<T: Sendable>(
    _ harness: LedgerHarness, _ body: (any JobLedger) async throws -> T
) async throws -> T {
    let second = try await harness.open()
    do {
        let result = try await body(second)
        await second.close()
        return result
    } catch {
        await second.close()
        throw error
    }
}
