import PostgresNIO
import PostgresSupport
import Synchronization
import TestSupport
import Testing

@Suite("Timeouts", .tags(.postgres))
struct TimeoutTests {
    @Test("every session has the options' statement, lock and idle-in-transaction timeouts")
    func sessionSettings() async throws {
        var options = try TestDatabase.options()
        options.statementTimeout = .milliseconds(4500)
        options.lockTimeout = .seconds(3)
        options.idleInTransactionTimeout = nil
        try await TestDatabase.with(options) { pool in
            let shown = try await pool.withConnection { connection, logger in
                var values: [String] = []
                for name in ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"] {
                    for try await value in try await connection.query(PostgresQuery(unsafeSQL: "SHOW \(name)"), logger: logger)
                        .decode(String.self)
                    {
                        values.append(value)
                    }
                }
                return values
            }
            // nil leaves the server's own setting (0: none).
            #expect(shown == ["4500ms", "3s", "0"])
        }
    }

    @Test("the server ends a statement past statement_timeout")
    func statementTimeout() async throws {
        var options = try TestDatabase.options()
        options.statementTimeout = .milliseconds(300)
        try await TestDatabase.with(options) { pool in
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: PSQLError.self) {
                try await pool.execute("SELECT pg_sleep(30)")
            }
            #expect(clock.now - start < .seconds(20))
        }
    }

    @Test("a statement waiting for a row lock ends at lock_timeout; the lock holder is not disturbed")
    func lockTimeout() async throws {
        var options = try TestDatabase.options()
        options.lockTimeout = .milliseconds(300)
        try await TestDatabase.with(options) { pool in
            let table = "\(options.quotedSchema).locked"
            try await pool.migrate(
                component: "locked", migrations: [(1, ["CREATE TABLE SCHEMA.locked (id INT PRIMARY KEY)", "INSERT INTO SCHEMA.locked VALUES (1)"])])
            let holding = AsyncStream<Void>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            async let holder: Void = pool.withTransaction { connection, logger in
                for try await _ in try await connection.query("SELECT id FROM \(unescaped: table) WHERE id = 1 FOR UPDATE", logger: logger) {}
                holding.continuation.yield()
                for await _ in release.stream { break }
            }
            for await _ in holding.stream { break }
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: PSQLError.self) {
                try await pool.execute("UPDATE \(unescaped: table) SET id = 1 WHERE id = 1")
            }
            #expect(clock.now - start < .seconds(20))
            release.continuation.yield()
            try await holder
        }
    }

    @Test("past the operation timeout the connection is closed and the call fails, even when the server never answers")
    func operationTimeout() async throws {
        var options = try TestDatabase.options()
        // The server would wait: only the client's own bound ends the call.
        options.statementTimeout = nil
        try await TestDatabase.with(options) { pool in
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: PostgresPoolError.timedOut(.milliseconds(500))) {
                try await pool.execute("SELECT pg_sleep(60)", timeout: .milliseconds(500))
            }
            #expect(clock.now - start < .seconds(20))
            // The pool goes on with a new connection.
            let one = try await pool.withConnection { connection, logger in
                var value = 0
                for try await number in try await connection.query("SELECT 1", logger: logger).decode(Int.self) { value = number }
                return value
            }
            #expect(one == 1)
        }
    }

    @Test("the caller is released at the operation timeout even when the operation's body ignores cancellation and goes on")
    func wedgedBodyDoesNotHoldTheCaller() async throws {
        let options = try TestDatabase.options()
        let wedged = Wedge()
        try await TestDatabase.with(options) { pool in
            let clock = ContinuousClock()
            let start = clock.now
            // The body goes on until 15 s from now, whatever happens to the call: a caller
            // that waits for its body fails the bound below instead of hanging the run.
            let releaser = Task {
                try? await Task.sleep(for: .seconds(15))
                wedged.release()
            }
            await #expect(throws: PostgresPoolError.timedOut(.milliseconds(300))) {
                try await pool.withConnection(timeout: .milliseconds(300)) { _, _ in await wedged.hold() }
            }
            #expect(clock.now - start < .seconds(10), "released at the timeout, not when the body ended")
            releaser.cancel()
            wedged.release()
        }
    }
}

/// A wait that ignores cancellation until ``release()``: what a statement on a connection
/// to a frozen server does.
final class Wedge: Sendable {
    private let state = Mutex<(released: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func hold() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.released { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.released = true
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }
}
