public import Foundation
import GRDB
import JobCore
public import Logging

/// The poll planner's learned durations in the SQLite ledger's file, so a restarted pod
/// does not start cold: table `poll_plan_durations (provider, name, payload, updated_at)`,
/// one row per entry (a name and a JSON document the worker writes and checks on reading).
///
/// Its own connection pool on the ledger's file (WAL mode: the ledger's writes and these
/// take turns, waiting up to `busyTimeout`); the table sits beside the ledger's own and is
/// created if missing, outside the ledger's schema versions.
public final class SQLiteDurationStore: Sendable {
    private let writer: DatabasePool
    /// At most this many entries are read back (a provider has a few dozen keys).
    public static let maximumEntries = 10_000

    public init(path: String, busyTimeout: TimeInterval = 10, logger: Logger = Logger(label: "ocr-worker.durations")) async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "ocr-worker.durations"
        do {
            try PrivateSQLiteFile.prepare(path)
            writer = try DatabasePool(path: path, configuration: configuration)
            try await writer.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS poll_plan_durations (
                            provider TEXT NOT NULL,
                            name TEXT NOT NULL,
                            payload TEXT NOT NULL,
                            updated_at INTEGER NOT NULL, -- milliseconds since 1970, UTC
                            PRIMARY KEY (provider, name)
                        )
                        """)
            }
        } catch {
            throw LedgerError(code: .unavailable, message: "sqlite: could not open the duration store: \(String(describing: error).prefix(200))")
        }
    }

    /// The stored entries of `provider`: name to payload.
    public func loadDurations(provider: String) async throws -> [String: String] {
        do {
            return try await writer.read { db in
                var entries: [String: String] = [:]
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT name, payload FROM poll_plan_durations WHERE provider = ? LIMIT ?",
                    arguments: [provider, Self.maximumEntries])
                while let row = try rows.next() {
                    guard let name = row["name"] as String?, let payload = row["payload"] as String? else { continue }
                    entries[name] = payload
                }
                return entries
            }
        } catch {
            throw LedgerError(code: .unavailable, message: "sqlite: duration store: \(String(describing: error).prefix(200))")
        }
    }

    /// Writes `entries` of `provider` in one transaction (an entry of the same name is
    /// replaced; others are kept).
    public func saveDurations(provider: String, entries: [String: String]) async throws {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        do {
            try await writer.write { db in
                for (name, payload) in entries {
                    try db.execute(
                        sql: """
                            INSERT INTO poll_plan_durations (provider, name, payload, updated_at) VALUES (?, ?, ?, ?)
                            ON CONFLICT (provider, name) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at
                            """, arguments: [provider, name, payload, now])
                }
            }
        } catch {
            throw LedgerError(code: .unavailable, message: "sqlite: duration store: \(String(describing: error).prefix(200))")
        }
    }

    public func close() async {
        try? writer.close()
    }
}
