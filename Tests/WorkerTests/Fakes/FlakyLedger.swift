import Foundation
import JobCore
import Ledger
import Synchronization

/// A real ledger (SQLite in memory) whose chosen methods fail a number of times first, as
/// an unreachable database does.
final class FlakyLedger: JobLedger {
    let base: any JobLedger
    private let failures = Mutex<[String: Int]>([:])
    private let calls = Mutex<[String: Int]>([:])
    private let hooks = Mutex<[String: @Sendable () async throws -> Void]>([:])

    init(_ base: any JobLedger) { self.base = base }

    static func inMemory() async throws -> FlakyLedger {
        FlakyLedger(try await SQLiteJobLedger(location: .inMemory))
    }

    /// The next `count` calls of `method` throw `.unavailable`.
    func fail(_ method: String, times count: Int) { failures.withLock { $0[method] = count } }
    func calls(_ method: String) -> Int { calls.withLock { $0[method] ?? 0 } }
    /// Runs `hook` once, at the next call of `method`, before the call (what another pod
    /// does meanwhile).
    func once(_ method: String, _ hook: @escaping @Sendable () async throws -> Void) { hooks.withLock { $0[method] = hook } }
    private func runHook(_ method: String) async throws {
        let hook = hooks.withLock { $0.removeValue(forKey: method) }
        try await hook?()
    }

    private func gate(_ method: String) throws {
        calls.withLock { $0[method, default: 0] += 1 }
        let fail = failures.withLock { f -> Bool in
            guard let n = f[method], n > 0 else { return false }
            f[method] = n - 1
            return true
        }
        if fail { throw LedgerError(code: .unavailable, message: "\(method): database unreachable (test)") }
    }

    func accept(jobID: String, fingerprint: String, at: Date) async throws -> (record: JobRecord, isNew: Bool) {
        try gate("accept")
        return try await base.accept(jobID: jobID, fingerprint: fingerprint, at: at)
    }
    func markCreating(jobID: String, at: Date) async throws -> JobRecord {
        try gate("markCreating")
        return try await base.markCreating(jobID: jobID, at: at)
    }
    func claimCreate(jobID: String, expectedCreateAttempts: Int, at: Date) async throws -> JobRecord {
        try gate("claimCreate")
        return try await base.claimCreate(jobID: jobID, expectedCreateAttempts: expectedCreateAttempts, at: at)
    }
    func renewCreateClaim(jobID: String, createAttempts: Int, at: Date) async throws {
        try gate("renewCreateClaim")
        try await base.renewCreateClaim(jobID: jobID, createAttempts: createAttempts, at: at)
    }
    func recordTask(jobID: String, taskID: String, createAttempts: Int, at: Date) async throws -> JobRecord {
        try await runHook("recordTask")
        try gate("recordTask")
        return try await base.recordTask(jobID: jobID, taskID: taskID, createAttempts: createAttempts, at: at)
    }
    func recordPolls(jobID: String, count: Int, at: Date) async throws {
        try gate("recordPolls")
        try await base.recordPolls(jobID: jobID, count: count, at: at)
    }
    func complete(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord {
        try gate("complete")
        return try await base.complete(jobID: jobID, resultMessage: resultMessage, polls: polls, at: at)
    }
    func fail(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord {
        try gate("fail")
        return try await base.fail(jobID: jobID, resultMessage: resultMessage, polls: polls, at: at)
    }
    func reopen(jobID: String, fingerprint: String, at: Date) async throws -> JobRecord {
        try gate("reopen")
        return try await base.reopen(jobID: jobID, fingerprint: fingerprint, at: at)
    }
    func markPublished(jobID: String, at: Date) async throws -> JobRecord {
        try gate("markPublished")
        return try await base.markPublished(jobID: jobID, at: at)
    }
    func record(jobID: String) async throws -> JobRecord? {
        try gate("record")
        return try await base.record(jobID: jobID)
    }
    func countByState() async throws -> [JobState: Int] { try await base.countByState() }
    func ping() async throws { try await base.ping() }
    func close() async { await base.close() }
}
