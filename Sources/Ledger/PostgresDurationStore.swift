import JobCore
import Foundation
public import Logging
import PostgresNIO
import Synchronization

/// The poll planner's learned durations in the PostgreSQL ledger's database, so a
/// restarted pod does not start cold: table `poll_plan_durations (provider, name, payload,
/// updated_at)` in the ledger's schema, one row per entry (a name and a JSON document the
/// worker writes and checks on reading). Pods sharing the ledger share the rows: each
/// saves what it learned, the last save of an entry wins, and a starting pod takes up the
/// newest of them. One connection of its own.
public final class PostgresDurationStore: Sendable {
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let table: String
    private let closed = Mutex(false)

    /// Connects to the ledger's database and creates the table if missing. Call
    /// `close()` when done.
    public init(options: PostgresLedgerOptions, logger: Logger = Logger(label: "ocr-worker.durations")) async throws {
        try options.validate()
        self.logger = logger
        table = "\"\(options.schema)\".poll_plan_durations"
        let client = PostgresClient(configuration: options.clientConfiguration(maximumConnections: 1), backgroundLogger: logger)
        self.client = client
        runTask = Task { await client.run() }
        let (table, schema) = (table, options.schema)
        do {
            try await client.withTransaction(logger: logger) { connection in
                // The ledger's migration lock for the schema: pods creating tables at once
                // take turns.
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\(schema), \(Int64(0x6f63_725f_6275_6467))))", logger: logger)
                if schema != "public" {
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
                }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            CREATE TABLE IF NOT EXISTS \(table) (
                                provider TEXT NOT NULL,
                                name TEXT NOT NULL,
                                payload TEXT NOT NULL,
                                updated_at TIMESTAMPTZ NOT NULL,
                                PRIMARY KEY (provider, name)
                            )
                            """), logger: logger)
            }
        } catch {
            runTask.cancel()
            await runTask.value
            throw LedgerError(code: .unavailable, message: "postgres: could not open the duration store: \(String(describing: error).prefix(200))")
        }
    }

    /// The stored entries of `provider`: name to payload.
    public func loadDurations(provider: String) async throws -> [String: String] {
        if closed.withLock({ $0 }) { throw LedgerError.closed }
        do {
            var entries: [String: String] = [:]
            for try await (name, payload) in try await client.query(
                "SELECT name, payload FROM \(unescaped: table) WHERE provider = \(provider) LIMIT \(SQLiteDurationStore.maximumEntries)",
                logger: logger
            ).decode((String, String).self) {
                entries[name] = payload
            }
            return entries
        } catch {
            throw LedgerError(code: .unavailable, message: "postgres: duration store: \(String(describing: error).prefix(200))")
        }
    }

    /// Writes `entries` of `provider` in one transaction (an entry of the same name is
    /// replaced; others are kept).
    public func saveDurations(provider: String, entries: [String: String]) async throws {
        if closed.withLock({ $0 }) { throw LedgerError.closed }
        let (table, logger) = (table, logger)
        do {
            try await client.withTransaction(logger: logger) { connection in
                for (name, payload) in entries.sorted(by: { $0.key < $1.key }) {
                    try await connection.query(
                        """
                        INSERT INTO \(unescaped: table) (provider, name, payload, updated_at) VALUES (\(provider), \(name), \(payload), now())
                        ON CONFLICT (provider, name) DO UPDATE SET payload = EXCLUDED.payload, updated_at = EXCLUDED.updated_at
                        """, logger: logger)
                }
            }
        } catch {
            throw LedgerError(code: .unavailable, message: "postgres: duration store: \(String(describing: error).prefix(200))")
        }
    }

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
