import GRDB
import JobCore
import Synchronization

/// Group commit for the SQLite ledger: ledger calls that arrive while a transaction runs
/// are queued and then written together, each in a savepoint of its own, in one
/// transaction.
///
/// Why: with many jobs in flight every job step is a small write, and one transaction
/// (and one hop to GRDB's writer thread) per step is most of the ledger's cost. Batching
/// keeps each call's own semantics (its savepoint rolls back alone when it throws, and
/// its caller resumes only after the batch committed) while many calls share one commit.
/// A lone call is written at once: batches only form under load.
///
/// Durable calls: GRDB opens a pool in WAL mode with `synchronous = NORMAL`, so a commit
/// is not synced and a power loss or kernel crash can roll back the last ones until a
/// checkpoint. That is harmless for most ledger writes (a lost `accepted` or `completed`
/// only repeats work), but not for the write that records a created task's id: losing it
/// sends the redelivered job to the provider a second time. A batch that holds a durable
/// call commits with `synchronous = FULL`; syncing the WAL there also syncs every commit
/// before it. In `scripts/bench worker` (pass-through, 3,000 jobs, two rounds) this costs
/// about 5 % more CPU per job than never syncing; syncing every batch cost 15 % and a
/// sixth of the jobs/s.
///
/// Tried and dropped: waiting a few milliseconds before each batch under load (like
/// PostgreSQL's `commit_delay`) to gather bigger batches. It cost more CPU per job than
/// it saved in `scripts/bench worker` (pages of random job ids are written once per
/// call either way, and the delay kept more jobs in flight).
final class SQLiteGroupCommit: Sendable {
    private struct Pending: Sendable {
        /// Runs the call's body in a savepoint and records its outcome.
        let run: @Sendable (Database) -> Void
        /// Resumes the caller: with the recorded outcome, or `commitError`.
        let finish: @Sendable (_ commitError: (any Error)?) -> Void
        /// Whether the caller needs its commit synced to disk before it resumes.
        let durable: Bool
    }

    private struct State {
        var queue: [Pending] = []
        var writing = false
    }

    private final class Outcome<T: Sendable>: Sendable {
        let value = Mutex<Result<T, any Error>?>(nil)
    }

    private let writer: any DatabaseWriter
    private let state = Mutex(State())
    private let syncedCommits = Atomic<Int>(0)
    /// The most calls one transaction takes (bounds a transaction's time and memory).
    let maxBatch: Int

    init(writer: any DatabaseWriter, maxBatch: Int = 256) {
        self.writer = writer
        self.maxBatch = maxBatch
    }

    /// Calls waiting for the next batch (tests watch batches form through it).
    var waitingCalls: Int { state.withLock { $0.queue.count } }

    /// Transactions committed with `synchronous = FULL` (for tests).
    var durableCommits: Int { syncedCommits.load(ordering: .relaxed) }

    /// Runs `body` in the next batch; with `durable`, that batch's commit is synced to
    /// disk before the caller resumes.
    func write<T: Sendable>(durable: Bool = false, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Outcome<T>()
            let pending = Pending(
                run: { db in
                    outcome.value.withLock { $0 = Self.inSavepoint(db, body) }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                        return
                    }
                    let result = outcome.value.withLock { $0 }
                    continuation.resume(with: result ?? .failure(LedgerError(code: .unavailable, message: "sqlite: a batched write did not run")))
                },
                durable: durable)
            let lead = state.withLock { s -> Bool in
                s.queue.append(pending)
                if s.writing { return false }
                s.writing = true
                return true
            }
            if lead { writeNextBatchOnWriterQueue() }
        }
    }

    /// Runs `body` in a savepoint of its own: released when it returns, rolled back alone
    /// when it throws. The savepoint statements are prepared once per connection (GRDB's
    /// `inSavepoint` prepares, and authorizes, them on every call).
    private static func inSavepoint<T>(_ db: Database, _ body: (Database) throws -> T) -> Result<T, any Error> {
        do {
            try db.cachedStatement(sql: "SAVEPOINT ledger_call").execute()
        } catch {
            return .failure(error)
        }
        do {
            let value = try body(db)
            try db.cachedStatement(sql: "RELEASE SAVEPOINT ledger_call").execute()
            return .success(value)
        } catch {
            // ROLLBACK TO keeps the savepoint open; RELEASE then closes it (it is empty).
            try? db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT ledger_call").execute()
            try? db.cachedStatement(sql: "RELEASE SAVEPOINT ledger_call").execute()
            return .failure(error)
        }
    }

    /// Runs `batch` in one transaction. BEGIN and COMMIT are cached statements: GRDB's
    /// `write` parses and authorizes both anew for every transaction, which was a tenth of
    /// the worker's CPU with many jobs in flight. IMMEDIATE takes the write lock at once,
    /// so a transaction never fails to upgrade from reading when another process writes
    /// the same file (the busy timeout waits for the lock instead).
    private func commit(_ batch: [Pending], in db: Database) throws {
        let durable = batch.contains { $0.durable }
        if durable { try db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute() }
        defer { if durable { try? db.cachedStatement(sql: "PRAGMA synchronous = NORMAL").execute() } }
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        for pending in batch { pending.run(db) }
        do {
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
        } catch {
            if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
            throw error
        }
        if durable { syncedCommits.add(1, ordering: .relaxed) }
    }

    /// Queues the next batch on GRDB's writer queue. Only one batch is queued or being
    /// written at a time (`State.writing`).
    ///
    /// Why a callback on the writer queue, not a task awaiting GRDB's async `write`: that
    /// path took a task start, a hop onto the writer queue's executor and a hop back per
    /// batch, each a thread wake-up, about as much CPU as the batch's SQL with many jobs
    /// in flight. Here the batch runs where GRDB writes anyway and only its callers are
    /// resumed. The next batch goes to the back of the writer queue, behind any write
    /// another part of the process queued meanwhile.
    private func writeNextBatchOnWriterQueue() {
        writer.asyncWriteWithoutTransaction { db in self.writeBatch(db) }
    }

    private func writeBatch(_ db: Database) {
        let batch = state.withLock { s -> [Pending] in
            let batch = Array(s.queue.prefix(maxBatch))
            s.queue.removeFirst(batch.count)
            return batch
        }
        do {
            try commit(batch, in: db)
            for pending in batch { pending.finish(nil) }
        } catch {
            for pending in batch { pending.finish(error) }
        }
        let more = state.withLock { s -> Bool in
            if s.queue.isEmpty { s.writing = false }
            return s.writing
        }
        if more { writeNextBatchOnWriterQueue() }
    }
}
