import Dispatch
import GRDB
@testable import Ledger
import Synchronization
import Testing
import TestSupport

/// How the SQLite ledger batches its writes: a lone call at once, and under load one
/// transaction per commit window. The window runs on a ``ManualClock``, so these tests
/// decide when it ends instead of sleeping.
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

    @Test("calls that queue up under load are written in one transaction after the commit window")
    func batchesUnderLoad() async throws {
        let (database, counter) = try Self.database()
        let clock = ManualClock()
        let commit = SQLiteGroupCommit(writer: database, commitWindow: .milliseconds(5), clock: clock)

        // The first call holds the writer until released, so the next one queues behind
        // it: the ledger is under load when the first batch commits.
        let entered = Mutex(false)
        let release = DispatchSemaphore(value: 0)
        let first = Task {
            try await commit.write { db in
                entered.withLock { $0 = true }
                release.wait()
                try Self.insert("first")(db)
            }
        }
        #expect(await Self.eventually { entered.withLock { $0 } })
        let second = Task { try await commit.write(Self.insert("second")) }
        #expect(await Self.eventually { commit.waitingCalls == 1 })
        release.signal()
        try await first.value

        // The batch after it waits for the window: more calls join it meanwhile.
        #expect(await Self.eventually { clock.sleeperCount == 1 }, "the next batch waits for the commit window")
        let more = (0..<3).map { index in Task { try await commit.write(Self.insert("more-\(index)")) } }
        #expect(await Self.eventually { commit.waitingCalls == 4 })
        #expect(counter.commits == 1)

        clock.advance(by: .milliseconds(5))
        try await second.value
        for call in more { try await call.value }
        #expect(counter.commits == 2, "the four waiting calls share one transaction")
        #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls") } == 5)
    }

    @Test("a call on an idle ledger is written at once, also right after another one")
    func loneCallsDoNotWait() async throws {
        let (database, counter) = try Self.database()
        let clock = ManualClock()
        let commit = SQLiteGroupCommit(writer: database, commitWindow: .seconds(3600), clock: clock)
        // The clock never moves: a call that waited for the window would never return.
        for index in 0..<3 {
            let call = Task { try await commit.write(Self.insert("lone-\(index)")) }
            let committed = await Self.eventually { counter.commits == index + 1 }
            #expect(committed, "call \(index) committed without waiting")
            let idle = await Self.eventually { commit.waitingCalls == 0 && clock.sleeperCount == 0 }
            #expect(idle, "nothing waits for the window after a lone call")
            if !committed || !idle { clock.advance(by: .seconds(7200)) }  // frees the calls, so the test ends
            try await call.value
        }
    }

    @Test("a call that throws rolls back alone; the others of its batch commit")
    func failingCallRollsBackAlone() async throws {
        let (database, counter) = try Self.database()
        let clock = ManualClock()
        let commit = SQLiteGroupCommit(writer: database, commitWindow: .milliseconds(5), clock: clock)
        let entered = Mutex(false)
        let release = DispatchSemaphore(value: 0)
        let first = Task {
            try await commit.write { db in
                entered.withLock { $0 = true }
                release.wait()
                try Self.insert("first")(db)
            }
        }
        #expect(await Self.eventually { entered.withLock { $0 } })
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
        #expect(await Self.eventually { clock.sleeperCount == 1 })
        clock.advance(by: .milliseconds(5))
        try await good.value
        await #expect(throws: Refused.self) { try await bad.value }
        #expect(counter.commits == 2)
        let names = try await database.read { db in try String.fetchAll(db, sql: "SELECT name FROM calls ORDER BY name") }
        #expect(names == ["first", "good"])
    }
}
