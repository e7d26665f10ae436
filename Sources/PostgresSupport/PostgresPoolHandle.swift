public import Logging
import Synchronization

/// A store's hold on a ``PostgresPool``: the process's pool, given to it (its owner closes
/// it, after the store), or a pool of the store's own (closed with the store). Closing the
/// handle is idempotent; a closed handle refuses further operations.
public final class PostgresPoolHandle: Sendable {
    public let pool: PostgresPool
    private let ownsPool: Bool
    private let closed = Mutex(false)

    private init(pool: PostgresPool, ownsPool: Bool) {
        self.pool = pool
        self.ownsPool = ownsPool
    }

    /// The process's pool, which its owner closes.
    public static func shared(_ pool: PostgresPool) -> PostgresPoolHandle {
        PostgresPoolHandle(pool: pool, ownsPool: false)
    }

    /// A pool of the store's own, closed with the handle.
    public static func own(options: PostgresConnectionOptions, logger: Logger) throws(PostgresConfigurationError)
        -> PostgresPoolHandle
    {
        PostgresPoolHandle(pool: try PostgresPool(options: options, logger: logger), ownsPool: true)
    }

    public var options: PostgresConnectionOptions { pool.options }

    /// Whether the store was closed (or its pool was).
    public var isClosed: Bool { closed.withLock { $0 } || pool.isClosed }

    /// Brings the store's tables up to date (``PostgresPool/migrate(component:migrations:legacyVersionTable:timeout:)``),
    /// the last step of opening a store; when it fails, closes the handle before
    /// rethrowing, so a pool of the store's own does not outlive the failed open.
    public func migrate(component: String, migrations: [PostgresMigration], legacyVersionTable: String? = nil) async throws {
        do {
            try await pool.migrate(component: component, migrations: migrations, legacyVersionTable: legacyVersionTable)
        } catch {
            await close()
            throw error
        }
    }

    /// Marks the store closed; closes the pool when it is the store's own.
    public func close() async {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if !wasClosed, ownsPool { await pool.close() }
    }
}
