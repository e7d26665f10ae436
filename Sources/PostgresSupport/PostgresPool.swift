import Deadlines
public import Logging
import NIOCore
public import PostgresNIO
import Synchronization

/// The process's one PostgreSQL connection pool: a PostgresNIO `PostgresClient` made from
/// ``PostgresConnectionOptions`` (TLS, connect timeout, the server-side timeouts on every
/// session), shared by everything the process keeps there (the worker's ledger, duration
/// store and shared request budget; ocr-server's task store) and by their migrations
/// (``migrate(component:migrations:legacyVersionTable:)``).
///
/// Lifecycle: `init` starts `client.run()` in a task of its own and connects lazily, on
/// the first operation; `close()` cancels that task and waits for it. Stores opened on a
/// pool given to them never close it: its owner does, after them.
///
/// Every operation is bounded on the client side too (``PostgresConnectionOptions/operationTimeout``,
/// or the operation's own `timeout`): the server's timeouts cannot end a wait on a server
/// that does not answer at all (stopped, or a network that drops packets). Past the bound
/// the operation's connection is closed, which fails its pending statement at once (a
/// running PostgresNIO query ignores task cancellation), and the operation throws
/// ``PostgresPoolError/timedOut(_:)``; the pool opens a new connection when one is
/// needed.
public final class PostgresPool: Sendable {
    public let options: PostgresConnectionOptions
    let logger: Logger
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let closed = Mutex(false)

    /// Makes the pool (no connection yet). Call ``close()`` when done.
    public init(options: PostgresConnectionOptions, logger: Logger) throws(PostgresConfigurationError) {
        try options.validate()
        self.options = options
        self.logger = logger
        let client = PostgresClient(configuration: options.clientConfiguration, backgroundLogger: logger)
        self.client = client
        runTask = Task { await client.run() }
    }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { closed.withLock { $0 } }

    /// Runs `body` on a connection from the pool, within `timeout` (default: the options'
    /// operation timeout) from the moment a connection is asked for. Cancelling the
    /// calling task ends the operation as the timeout does.
    ///
    /// The caller never waits past the bound, whatever the body is doing: the body runs in
    /// a task of its own, not a child of the caller's. A child would have to be awaited,
    /// and a body wedged on a connection to a server that stopped answering (a frozen
    /// PostgreSQL) can outlast both the closed connection and the cancellation; the caller
    /// would then hang with it. Past the bound the connection is closed and the body
    /// cancelled, and it ends by itself.
    public func withConnection<T: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        if isClosed { throw PostgresPoolError.closed }
        let limit = timeout ?? options.operationTimeout
        let (client, logger) = (client, logger)
        let value = try await Deadline.run(within: limit) { abandonment in
            try await client.withConnection { connection in
                // Past the bound the connection is closed: its pending statement fails at
                // once instead of running on.
                abandonment.hold { PostgresPool.closeAtOnce(connection) }
                let outcome: Result<T, any Error>
                do { outcome = .success(try await body(connection, logger)) } catch { outcome = .failure(error) }
                abandonment.hold(nil)
                // Closing takes a moment, and a connection handed back while it is still
                // closing counts as idle: the pool may lease it to the next operation, whose
                // statement then never answers (PostgresNIO 1.33; the next call waited out
                // its whole bound). So a closed connection goes back only once it is closed.
                if abandonment.isAbandoned { try? await connection.closeFuture.get() }
                return try outcome.get()
            }
        }
        guard let value else { throw PostgresPoolError.timedOut(limit) }
        return value
    }

    /// Closes `connection` without waiting (the synchronous overload): its pending
    /// statement fails at once.
    fileprivate static func closeAtOnce(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        _ = closing
    }

    /// Runs `body` in a transaction (BEGIN, then COMMIT when it returns, ROLLBACK when it
    /// throws) on a connection from the pool, within `timeout` as ``withConnection(timeout:_:)``.
    /// The body's own error comes out as it was thrown (not wrapped in PostgresNIO's
    /// `PostgresTransactionError`).
    public func withTransaction<T: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try await withConnection(timeout: timeout) { connection, logger in
            do {
                return try await connection.withTransaction(logger: logger) { connection in
                    try await body(connection, logger)
                }
            } catch let error as PostgresTransactionError {
                throw error.closureError ?? error.commitError ?? error.beginError ?? error
            }
        }
    }

    /// Runs one statement that answers no rows the caller needs (its rows are read and
    /// dropped), within `timeout` as ``withConnection(timeout:_:)``.
    public func execute(_ query: PostgresQuery, timeout: Duration? = nil) async throws {
        try await withConnection(timeout: timeout) { connection, logger in
            for try await _ in try await connection.query(query, logger: logger) {}
        }
    }

    /// Stops the pool: later operations throw ``PostgresPoolError/closed``. Idempotent.
    public func close() async {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        runTask.cancel()
        await runTask.value
    }
}
