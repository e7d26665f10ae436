import Dispatch
import GRDB
import Synchronization
import Testing

@testable import Ledger

/// How the SQLite ledger batches its writes: calls that arrive while a transaction runs
/// share the next one. A first call that blocks the writer until released makes the
/// batches happen on cue instead of by timing.
@Suite("SQLite group commit")
struct SQLiteGroupCommitTests {
    /// Counts the transactions a database commits.
    final class CommitCounter: TransactionObserver, Sendable {
        private let count = Mutex(0)
        var commits: Int { count.withLock { $0 } }
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { count.withLock { $0 += 1 } }
        func databaseDidRollback(_ db: Database) {}
    }

    private static func database() throws -> (DatabaseQueue, CommitCounter) {
        let queue = try DatabaseQueue()
        try queue.write { db in try db.execute(sql: "CREATE TABLE calls (name TEXT NOT NULL)") }
        let counter = CommitCounter()
        queue.add(transactionObserver: counter, extent: .databaseLifetime)
        return (queue, counter)
    }

    private static func insert(_ name: String) -> @Sendable (Database) throws -> Void {
        { db in try db.execute(sql: "INSERT INTO calls (name) VALUES (?)", arguments: [name]) }
    }

    /// Waits (at most 10 s) until `condition` holds; false when it never did.
    private static func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    /// Starts a call that inserts "first" and holds the writer until `release` is
    /// signalled; returns once its body runs, so later calls queue behind it.
    private static func holdWriter(_ commit: SQLiteGroupCommit) async -> (Task<Void, any Error>, DispatchSemaphore) {
        let entered = Mutex(false)
        let release = DispatchSemaphore(value: 0)
        let first = Task {
            try await commit.write { db in
                entered.withLock { $0 = true }
                release.wait()
                try insert("first")(db)
            }
        }
        #expect(await eventually { entered.withLock { $0 } })
        return (first, release)
    }

    @Test("calls that arrive while a transaction runs are written together in the next one")
    func batchesUnderLoad() async throws {
        let (database, counter) = try Self.database()
        let commit = SQLiteGroupCommit(writer: database)
        let (first, release) = await Self.holdWriter(commit)
        let more = (0..<4).map { index in Task { try await commit.write(Self.insert("more-\(index)")) } }
        #expect(await Self.eventually { commit.waitingCalls == 4 })
        release.signal()
        try await first.value
        for call in more { try await call.value }
        #expect(counter.commits == 2, "the four calls that waited share one transaction")
        #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls") } == 5)
    }

    @Test("a call that throws rolls back alone; the others of its batch commit")
    func failingCallRollsBackAlone() async throws {
        let (database, counter) = try Self.database()
        let commit = SQLiteGroupCommit(writer: database)
        let (first, release) = await Self.holdWriter(commit)
        struct Refused: Error {}
        let good = Task { try await commit.write(Self.insert("good")) }
        let bad = Task {
            try await commit.write { db in
                try Self.insert("bad")(db)
                throw Refused()
            }
        }
        #expect(await Self.eventually { commit.waitingCalls == 2 })
        release.signal()
        try await first.value
        try await good.value
        await #expect(throws: Refused.self) { try await bad.value }
        #expect(counter.commits == 2)
        let names = try await database.read { db in try String.fetchAll(db, sql: "SELECT name FROM calls ORDER BY name") }
        #expect(names == ["first", "good"])
    }
}
