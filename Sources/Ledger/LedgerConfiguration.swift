public import Foundation
public import JobCore
public import Logging
public import PostgresSupport

/// Where the ledger lives, parsed from a URL:
///
/// - `sqlite:///var/lib/ocr-worker/ledger.db` (an absolute path), `sqlite:ledger.db`
///   (relative to the working directory), `sqlite::memory:` (in memory, for tests);
/// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...&schema=NAME]`
///   (`postgresql://` too). Without a password in the URL, `PGPASSWORD` from the
///   environment is used. Without `sslmode`, a server that is not on loopback gets
///   `verify-full` (TLS, certificate and host name verified); the parameters are
///   ``PostgresConnectionOptions``'s (TLS opt-outs, timeouts, pool size).
///
/// `description` never shows the password: print or log the configuration freely.
public struct LedgerConfiguration: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    public enum Backend: Sendable, Hashable {
        case sqliteFile(path: String)
        case sqliteInMemory
        case postgres(PostgresConnectionOptions)
    }

    public var backend: Backend

    public init(backend: Backend) {
        self.backend = backend
    }

    public static func sqlite(path: String) -> Self { Self(backend: .sqliteFile(path: path)) }
    public static var sqliteInMemory: Self { Self(backend: .sqliteInMemory) }
    public static func postgres(_ options: PostgresConnectionOptions) -> Self { Self(backend: .postgres(options)) }

    /// The PostgreSQL options of a postgres ledger; nil for SQLite.
    public var postgresOptions: PostgresConnectionOptions? {
        if case .postgres(let options) = backend { return options }
        return nil
    }

    /// Parses a ledger URL (see the type's documentation). `environment` supplies
    /// `PGPASSWORD` when the URL has no password.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path == ":memory:" || path == "//:memory:" {
                self.init(backend: .sqliteInMemory)
                return
            }
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw Self.invalid("sqlite URL without a path") }
            self.init(backend: .sqliteFile(path: path.removingPercentEncoding ?? path))
            return
        }
        if PostgresConnectionOptions.isPostgresURL(trimmed) {
            do {
                self.init(backend: .postgres(try PostgresConnectionOptions(url: trimmed, environment: environment)))
            } catch {
                throw Self.invalid(error.reason)
            }
            return
        }
        // Never echo the URL: it may hold a password.
        throw Self.invalid("unsupported ledger URL scheme (expected sqlite: or postgres://)")
    }

    public var description: String {
        switch backend {
        case .sqliteFile(let path): "sqlite:" + (path.hasPrefix("/") ? "//" : "") + path
        case .sqliteInMemory: "sqlite::memory:"
        case .postgres(let options): options.description
        }
    }

    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["url": description]) }

    /// A postgres ledger URL with `password` set as its userinfo password
    /// (percent-encoded): how a separately kept secret (`OCR_LEDGER_PASSWORD`) joins the
    /// URL. Throws when `url` is not a postgres URL, or already has a password (two
    /// sources for one secret are a mistake to report, not to resolve silently). Errors
    /// never contain the password or the URL.
    public static func url(_ url: String, withPassword password: String) throws -> String {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        guard PostgresConnectionOptions.isPostgresURL(trimmed),
            var components = URLComponents(string: trimmed), components.host?.isEmpty == false
        else { throw invalid("a ledger password needs a postgres:// ledger URL") }
        guard components.percentEncodedPassword == nil else {
            throw invalid("the ledger URL already has a password; give it in one place only")
        }
        // Userinfo may not hold `:` `@` `/` and friends unescaped; keep unreserved only.
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        guard let encoded = password.addingPercentEncoding(withAllowedCharacters: allowed) else {
            throw invalid("the ledger password is not valid text")
        }
        if components.percentEncodedUser == nil || components.percentEncodedUser?.isEmpty == true {
            components.percentEncodedUser = "postgres"
        }
        components.percentEncodedPassword = encoded
        guard let text = components.string else { throw invalid("cannot add the password to the ledger URL") }
        return text
    }

    static func invalid(_ message: String) -> LedgerError {
        LedgerError(code: .unavailable, message: "invalid ledger configuration: " + message)
    }
}

/// Opens the ledger the configuration names, creating its schema when missing. Close it
/// with `close()` when done. A postgres ledger uses `pool` when given (the process's
/// one pool, made from the configuration's options, closed by its owner after the
/// ledger), or a pool of its own.
public func makeLedger(
    _ configuration: LedgerConfiguration,
    pool: PostgresPool? = nil,
    logger: Logger = Logger(label: "ocr-worker.ledger")
) async throws -> any JobLedger {
    switch configuration.backend {
    case .sqliteFile(let path):
        try await SQLiteJobLedger(location: .file(path), logger: logger)
    case .sqliteInMemory:
        try await SQLiteJobLedger(location: .inMemory, logger: logger)
    case .postgres(let options):
        if let pool {
            try await PostgresJobLedger(pool: pool, logger: logger)
        } else {
            try await PostgresJobLedger(options: options, logger: logger)
        }
    }
}

/// Parses `url` (see ``LedgerConfiguration``) and opens that ledger.
public func makeLedger(
    url: String,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    logger: Logger = Logger(label: "ocr-worker.ledger")
) async throws -> any JobLedger {
    try await makeLedger(LedgerConfiguration(url: url, environment: environment), logger: logger)
}
