import Foundation
import JobCore
public import Logging
import PostgresNIO
public import PostgresSupport

/// The poll planner's learned durations in the PostgreSQL ledger's database, so a
/// restarted pod does not start cold: table `poll_plan_durations (provider, name, payload,
/// updated_at)` in the ledger's schema, one row per entry (a name and a JSON document the
/// worker writes and checks on reading). Pods sharing the ledger share the rows: each
/// saves what it learned, the last save of an entry wins, and a starting pod takes up the
/// newest of them.
public final class PostgresDurationStore: Sendable {
    /// The table's versions (``PostgresPool/migrate(component:migrations:legacyVersionTable:timeout:)``).
    /// Version 1 takes over a table made before versions were recorded.
    static let migrations: [PostgresMigration] = [
        (
            1,
            [
                """
                CREATE TABLE IF NOT EXISTS SCHEMA.poll_plan_durations (
                    provider TEXT NOT NULL,
                    name TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (provider, name)
                )
                """
            ]
        )
    ]

    private let handle: PostgresPoolHandle
    private let table: String

    /// Opens the store on the process's pool (closed by its owner, after the store) and
    /// creates the table if missing. Call `close()` when done.
    public convenience init(pool: PostgresPool) async throws {
        try await self.init(handle: .shared(pool))
    }

    /// Opens the store on a pool of its own, closed with the store.
    public convenience init(options: PostgresConnectionOptions, logger: Logger = Logger(label: "ocr-worker.durations")) async throws {
        try await self.init(handle: .ledgerOwn(options: options, logger: logger))
    }

    private init(handle: PostgresPoolHandle) async throws {
        self.handle = handle
        table = "\(handle.options.quotedSchema).poll_plan_durations"
        do {
            try await handle.migrate(component: "poll_plan_durations", migrations: Self.migrations)
        } catch {
            throw LedgerError.postgres("could not open the duration store", error)
        }
    }

    /// The stored entries of `provider`: name to payload.
    public func loadDurations(provider: String) async throws -> [String: String] {
        if handle.isClosed { throw LedgerError.closed }
        let table = table
        do {
            return try await handle.pool.withConnection { connection, logger in
                var entries: [String: String] = [:]
                for try await (name, payload) in try await connection.query(
                    "SELECT name, payload FROM \(unescaped: table) WHERE provider = \(provider) LIMIT \(SQLiteDurationStore.maximumEntries)",
                    logger: logger
                ).decode((String, String).self) {
                    entries[name] = payload
                }
                return entries
            }
        } catch {
            throw LedgerError.postgres("duration store", error)
        }
    }

    /// Writes `entries` of `provider` in one statement (an entry of the same name is
    /// replaced; others are kept), so no row lock outlives the statement.
    public func saveDurations(provider: String, entries: [String: String]) async throws {
        if handle.isClosed { throw LedgerError.closed }
        guard !entries.isEmpty else { return }
        let table = table
        let sorted = entries.sorted { $0.key < $1.key }
        let (names, payloads) = (sorted.map(\.key), sorted.map(\.value))
        do {
            try await handle.pool.execute(
                """
                INSERT INTO \(unescaped: table) (provider, name, payload, updated_at)
                SELECT \(provider), entry.name, entry.payload, now() FROM unnest(\(names)::text[], \(payloads)::text[]) AS entry (name, payload)
                ON CONFLICT (provider, name) DO UPDATE SET payload = EXCLUDED.payload, updated_at = EXCLUDED.updated_at
                """)
        } catch {
            throw LedgerError.postgres("duration store", error)
        }
    }

    public func close() async {
        await handle.close()
    }
}
