public import JobCore
public import Foundation
public import Logging

/// Where the ledger lives, parsed from a URL:
///
/// - `sqlite:///var/lib/ocr-worker/ledger.db` (an absolute path), `sqlite:ledger.db`
///   (relative to the working directory), `sqlite::memory:` (in memory, for tests);
/// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...&schema=NAME]`
///   (`postgresql://` too). Without a password in the URL, `PGPASSWORD` from the
///   environment is used. Without `sslmode`, a server that is not on loopback gets
///   `verify-full` (TLS, certificate and host name verified); see
///   ``PostgresLedgerOptions/TLSMode`` for the opt-outs.
///
/// `description` never shows the password: print or log the configuration freely.
public struct LedgerConfiguration: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    public enum Backend: Sendable, Hashable {
        case sqliteFile(path: String)
        case sqliteInMemory
        case postgres(PostgresLedgerOptions)
    }

    public var backend: Backend

    public init(backend: Backend) {
        self.backend = backend
    }

    public static func sqlite(path: String) -> Self { Self(backend: .sqliteFile(path: path)) }
    public static var sqliteInMemory: Self { Self(backend: .sqliteInMemory) }
    public static func postgres(_ options: PostgresLedgerOptions) -> Self { Self(backend: .postgres(options)) }

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
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            self.init(backend: .postgres(try PostgresLedgerOptions(url: trimmed, environment: environment)))
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
        guard trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://"),
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

    static let invalidPrefix = "invalid ledger configuration: "

    static func invalid(_ message: String) -> LedgerError {
        LedgerError(code: .unavailable, message: invalidPrefix + message)
    }
}

/// How to reach PostgreSQL. The password is never part of `description`.
public struct PostgresLedgerOptions: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// TLS to PostgreSQL (the `sslmode` URL parameter).
    ///
    /// The default (``defaultTLS(forHost:)``) is ``verifyFull`` for every host but
    /// loopback (`localhost`, `127.0.0.0/8`, `::1`), where it is ``prefer``. ``prefer`` and
    /// ``require`` are explicit opt-ins that DO NOT VERIFY the server: they encrypt, but
    /// anyone who can intercept the connection can impersonate the database and read the
    /// ledger's credentials. Use them only on networks you trust, or with a server
    /// certificate no public CA signs and no `sslrootcert` to verify it with.
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP (loopback, or a network you trust).
        case disable
        /// TLS when the server offers it, plain otherwise; the certificate is NOT
        /// verified (libpq's `prefer`; `allow` maps here too): protects against
        /// eavesdropping, not against impostors.
        case prefer
        /// TLS or no connection; the certificate is NOT verified (libpq's `require`).
        case require
        /// TLS with the certificate verified against the system's trust roots (or
        /// `sslrootcert`) and the host name (libpq's `verify-full`; `verify-ca` maps here
        /// too, which verifies more than libpq's `verify-ca`).
        case verifyFull = "verify-full"

        /// Whether the server's certificate and name are checked.
        public var verifiesServer: Bool { self == .verifyFull }
    }

    /// ``TLSMode/verifyFull`` unless `host` is loopback (``TLSMode/prefer`` there, where
    /// test and development servers run without certificates).
    public static func defaultTLS(forHost host: String) -> TLSMode {
        isLoopback(host) ? .prefer : .verifyFull
    }

    /// `localhost`, an IPv4 address in 127.0.0.0/8, or `::1` (bracketed or not).
    public static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name == "localhost." || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                && (Int(part) ?? 256) <= 255
        }
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// The schema holding the ledger's tables (created when missing). One database can
    /// hold several ledgers, one per schema.
    public var schema: String
    public var tls: TLSMode
    /// A PEM file of the CA certificates to verify the server with (`sslrootcert`);
    /// `nil` uses the system's trust roots. Only ``TLSMode/verifyFull`` reads it.
    public var rootCertificatePath: String?
    /// Pool size per ledger (per worker pod).
    public var maximumConnections: Int
    /// How long opening the ledger and `ping` wait for the server.
    public var connectTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres",
        password: String? = nil, database: String = "ocr", schema: String = "public",
        tls: TLSMode? = nil, maximumConnections: Int = 10, connectTimeout: Duration = .seconds(10),
        rootCertificatePath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.tls = tls ?? Self.defaultTLS(forHost: host)
        self.rootCertificatePath = rootCertificatePath
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...&schema=...]`.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql"
        else { throw LedgerConfiguration.invalid("malformed postgres URL") }
        guard var host = components.host, !host.isEmpty else {
            throw LedgerConfiguration.invalid("postgres URL without a host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host)
        if let port = components.port { self.port = port }
        if let user = components.percentEncodedUser, !user.isEmpty {
            self.username = user.removingPercentEncoding ?? user
        }
        if let password = components.percentEncodedPassword {
            self.password = password.removingPercentEncoding ?? password
        } else {
            self.password = environment["PGPASSWORD"]
        }
        let database = String(components.percentEncodedPath.drop { $0 == "/" })
        if !database.isEmpty { self.database = database.removingPercentEncoding ?? database }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else {
                    throw LedgerConfiguration.invalid("sslrootcert needs a file path")
                }
                rootCertificatePath = path
            case "sslmode":
                switch item.value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require": tls = .require
                case "verify-ca", "verify-full": tls = .verifyFull
                default: throw LedgerConfiguration.invalid("unknown sslmode \(item.value ?? "")")
                }
            case "schema":
                schema = item.value ?? ""
            case "max_connections":
                guard let value = item.value.flatMap(Int.init), value > 0 else {
                    throw LedgerConfiguration.invalid("max_connections must be a positive integer")
                }
                maximumConnections = value
            case "connect_timeout":
                guard let value = item.value.flatMap(Int.init), value > 0 else {
                    throw LedgerConfiguration.invalid("connect_timeout must be a positive integer (seconds)")
                }
                connectTimeout = .seconds(value)
            default:
                throw LedgerConfiguration.invalid("unknown postgres URL parameter \(item.name)")
            }
        }
        try validate()
    }

    /// Schema names go into SQL as identifiers: plain lower-case names only.
    func validate() throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard let first = schema.first, !first.isNumber, schema.count <= 63, schema.allSatisfy(allowed.contains)
        else { throw LedgerConfiguration.invalid("schema must match [a-z_][a-z0-9_]{0,62}") }
        guard maximumConnections > 0 else { throw LedgerConfiguration.invalid("maximumConnections must be positive") }
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var url = "postgres://\(username)\(password == nil ? "" : ":***")@\(hostPart):\(port)/\(database)"
        var parameters: [String] = []
        if tls != Self.defaultTLS(forHost: host) { parameters.append("sslmode=\(tls.rawValue)") }
        if let rootCertificatePath { parameters.append("sslrootcert=\(rootCertificatePath)") }
        if schema != "public" { parameters.append("schema=\(schema)") }
        if !parameters.isEmpty { url += "?" + parameters.joined(separator: "&") }
        return url
    }

    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["url": description]) }
}

/// Opens the ledger the configuration names, creating its schema when missing. Close it
/// with `close()` when done.
public func makeLedger(
    _ configuration: LedgerConfiguration,
    logger: Logger = Logger(label: "ocr-worker.ledger")
) async throws -> any JobLedger {
    switch configuration.backend {
    case .sqliteFile(let path):
        try await SQLiteJobLedger(location: .file(path), logger: logger)
    case .sqliteInMemory:
        try await SQLiteJobLedger(location: .inMemory, logger: logger)
    case .postgres(let options):
        try await PostgresJobLedger(options: options, logger: logger)
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
