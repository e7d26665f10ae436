public import Foundation
import JobCore
public import PostgresSupport

/// Where ocr-server keeps its task records.
public enum TaskDatabase: Sendable, Equatable {
    /// `tasks.sqlite` in the data directory (the default).
    case dataDirectory
    /// A SQLite file elsewhere.
    case file(String)
    /// In memory: a restart forgets every task (tests, throwaway servers).
    case inMemory
    /// PostgreSQL, shared by replicas (`--store postgres://...`); results and sources then
    /// live in ``ServerConfiguration/sharedDirectory``. The options' description never
    /// shows the password.
    case postgres(PostgresConnectionOptions)

    /// From a flag's value: `:memory:`, a path, or nil/empty for the default.
    public init(argument: String?) {
        switch argument {
        case nil, "": self = .dataDirectory
        case ":memory:": self = .inMemory
        case let path?: self = .file(path)
        }
    }

    /// From `--store`: a `postgres://` (or `postgresql://`) URL, parsed as the worker's
    /// ledger parses it (``PostgresConnectionOptions``: `PGPASSWORD` from `environment`
    /// when the URL has none; `sslmode`, `schema`, `max_connections`, the timeouts).
    /// Errors never contain the URL.
    public init(store url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        guard PostgresConnectionOptions.isPostgresURL(trimmed) else {
            throw TaskStoreURLError(reason: "--store takes a postgres:// URL (SQLite in the data directory is the default)")
        }
        do { self = .postgres(try PostgresConnectionOptions(url: trimmed, environment: environment)) } catch {
            throw TaskStoreURLError(reason: "invalid --store URL: \(error.reason)")
        }
    }

    /// Whether replicas share this store.
    public var isShared: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// The SQLite file for a server whose data directory is `dataDirectory`; nil in memory
    /// or in PostgreSQL.
    func path(dataDirectory: URL) -> String? {
        switch self {
        case .dataDirectory: dataDirectory.appendingPathComponent("tasks.sqlite").path
        case .file(let path): path
        case .inMemory, .postgres: nil
        }
    }
}

/// A `--store` value that is not a usable PostgreSQL URL; never contains the URL.
public struct TaskStoreURLError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
