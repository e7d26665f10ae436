import GRDB
import Synchronization

/// Group commit for the SQLite ledger: ledger calls that arrive while a transaction runs
/// are queued and then written together, each in a savepoint of its own, in one
/// transaction.
///
/// Why: with many jobs in flight every job step is a small write, and one transaction
/// (and one hop to GRDB's writer thread) per step is most of the ledger's cost. Batching
/// keeps each call's own semantics (its savepoint rolls back alone when it throws, and
/// its caller resumes only after the batch committed) while many calls share one commit.
///
/// When batches form: a lone call on an idle ledger is written at once. Once a batch has
/// committed and more calls are already waiting (the ledger is under load), the next
/// batch is taken only after ``commitWindow``, so that it holds the calls of that whole
/// window rather than the one or two that arrived during the last commit (like
/// PostgreSQL's `commit_delay`, which also waits only when other transactions are
/// active). Under load each step waits at most one window longer; in exchange the
/// transaction's fixed cost (BEGIN, COMMIT with its WAL write and fsync, the hop to the
/// writer thread) is shared by every call of the window.
final class SQLiteGroupCommit: Sendable {
    private struct Pending: Sendable {
        /// Runs the call's body in a savepoint and records its outcome.
        let run: @Sendable (Database) -> Void
        /// Resumes the caller: with the recorded outcome, or `commitError`.
        let finish: @Sendable (_ commitError: (any Error)?) -> Void
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
    /// The most calls one transaction takes (bounds a transaction's time and memory).
    let maxBatch: Int
    /// How long a batch gathers calls when the ledger is under load (see the type's
    /// comment); zero takes each batch as soon as the previous one committed.
    let commitWindow: Duration
    private let clock: any Clock<Duration>

    init(
        writer: any DatabaseWriter, maxBatch: Int = 256, commitWindow: Duration = .milliseconds(5),
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.writer = writer
        self.maxBatch = maxBatch
        self.commitWindow = commitWindow
        self.clock = clock
    }

    /// Calls waiting for the next batch (tests watch batches form through it).
    var waitingCalls: Int { state.withLock { $0.queue.count } }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
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
                })
            let lead = state.withLock { s -> Bool in
                s.queue.append(pending)
                if s.writing { return false }
                s.writing = true
                return true
            }
            if lead { Task { await self.drain() } }
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
    private static func commit(_ batch: [Pending], in db: Database) throws {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        for pending in batch { pending.run(db) }
        do {
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
        } catch {
            if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
            throw error
        }
    }

    /// Writes batches until the queue is empty. Only one drain runs at a time.
    private func drain() async {
        var first = true
        while true {
            if !first, commitWindow > .zero, state.withLock({ (1..<maxBatch).contains($0.queue.count) }) {
                try? await clock.sleep(for: commitWindow)
            }
            first = false
            let batch = state.withLock { s -> [Pending] in
                let batch = Array(s.queue.prefix(maxBatch))
                s.queue.removeFirst(batch.count)
                if batch.isEmpty { s.writing = false }
                return batch
            }
            if batch.isEmpty { return }
            do {
                try await writer.writeWithoutTransaction { db in try Self.commit(batch, in: db) }
                for pending in batch { pending.finish(nil) }
            } catch {
                for pending in batch { pending.finish(error) }
            }
        }
    }
}
