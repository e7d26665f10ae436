import Foundation
import GRDB
import Synchronization
import Testing

@testable import Ledger

/// The SQLite ledger's commits are not synced to disk (WAL with `synchronous = NORMAL`)
/// except the one that records a created task's id: losing that row to a power loss
/// would send the redelivered job to the provider a second time.
@Suite("SQLite ledger durability")
struct SQLiteLedgerDurabilityTests {
    @Test("recording a task id commits synced; the job's other writes do not")
    func recordingTheTaskIDCommitsSynced() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-sync-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try await SQLiteJobLedger(location: .file(directory.appendingPathComponent("ledger.sqlite").path))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try await ledger.accept(jobID: "j1", fingerprint: "f", at: now)
        let claim = try await ledger.claimCreate(jobID: "j1", expectedCreateAttempts: 0, at: now)
        #expect(ledger.durableCommits == 0)
        _ = try await ledger.recordTask(jobID: "j1", taskID: "t1", createAttempts: claim.createAttempts, at: now)
        #expect(ledger.durableCommits == 1)
        _ = try await ledger.complete(jobID: "j1", resultMessage: [1], at: now)
        _ = try await ledger.markPublished(jobID: "j1", at: now)
        #expect(ledger.durableCommits == 1)
        await ledger.close()
    }

    @Test("a durable call's batch commits with synchronous = FULL; the connection goes back to NORMAL")
    func aDurableBatchCommitsWithFullSync() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabasePool(path: directory.appendingPathComponent("db.sqlite").path)
        let commit = SQLiteGroupCommit(writer: pool)
        let synchronous: @Sendable (Database) throws -> Int = { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
        #expect(try await commit.write(synchronous) == 1, "WAL's NORMAL for an ordinary call")
        #expect(try await commit.write(durable: true, synchronous) == 2, "FULL for a durable one")
        #expect(try await commit.write(synchronous) == 1, "and NORMAL again after it")
        #expect(commit.durableCommits == 1)
    }
}
