public import Foundation

/// How to reach PostgreSQL, for every program of ours that uses it (the worker's ledger,
/// its duration store and shared request budget, ocr-server's task store), parsed from
///
///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMETER=VALUE&...]
///
/// (`postgresql://` too). Without a password in the URL, `PGPASSWORD` from the environment
/// is used. Parameters: `sslmode`, `sslrootcert`, `schema`, `max_connections`, and the
/// timeouts in seconds (decimals allowed): `connect_timeout`, `statement_timeout`,
/// `lock_timeout`, `idle_in_transaction_session_timeout`, `operation_timeout`
/// (docs/postgres.md says what each bounds). An unknown parameter is an error, never
/// ignored.
///
/// The password is never part of `description`, `debugDescription` or a mirror: print or
/// log the options freely.
public struct PostgresConnectionOptions: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// TLS to PostgreSQL (the `sslmode` URL parameter).
    ///
    /// The default (``defaultTLS(forHost:)``) is ``verifyFull`` for every host but
    /// loopback (`localhost`, `127.0.0.0/8`, `::1`), where it is ``prefer``. ``prefer`` and
    /// ``require`` are explicit opt-ins that DO NOT VERIFY the server: they encrypt, but
    /// anyone who can intercept the connection can impersonate the database and read the
    /// credentials. Use them only on networks you trust, or with a server certificate no
    /// public CA signs and no `sslrootcert` to verify it with.
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

    /// The defaults of the timeouts (docs/postgres.md).
    public enum Defaults {
        public static let connectTimeout: Duration = .seconds(10)
        public static let statementTimeout: Duration = .seconds(30)
        public static let lockTimeout: Duration = .seconds(10)
        public static let idleInTransactionTimeout: Duration = .seconds(60)
        public static let operationTimeout: Duration = .seconds(60)
    }

    /// The longest timeout a URL may set: a day (and no value from outside overflows a
    /// conversion).
    public static let maximumTimeout: Duration = .seconds(86_400)

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// The schema holding a program's tables (created when missing). One database can
    /// hold several deployments, one per schema.
    public var schema: String
    public var tls: TLSMode
    /// A PEM file of the CA certificates to verify the server with (`sslrootcert`);
    /// `nil` uses the system's trust roots. Only ``TLSMode/verifyFull`` reads it.
    public var rootCertificatePath: String?
    /// The size of the process's one connection pool (``PostgresPool``).
    public var maximumConnections: Int
    /// How long a new connection may take, TCP and start-up handshake together; also the
    /// deadline of opening a store and of a `ping`.
    public var connectTimeout: Duration
    /// The server ends any statement that runs longer (`statement_timeout`); nil leaves
    /// the server's setting.
    public var statementTimeout: Duration?
    /// The server ends any statement that waits longer for a lock (`lock_timeout`); nil
    /// leaves the server's setting.
    public var lockTimeout: Duration?
    /// The server ends a session that sits inside a transaction, idle, for longer
    /// (`idle_in_transaction_session_timeout`): a client that froze mid-transaction
    /// releases its locks. nil leaves the server's setting.
    public var idleInTransactionTimeout: Duration?
    /// The client's own bound on one operation (a connection from the pool and the
    /// statements on it): past it the connection is closed and the operation fails. Covers
    /// what the server's timeouts cannot: a server that does not answer at all.
    public var operationTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres",
        password: String? = nil, database: String = "ocr", schema: String = "public",
        tls: TLSMode? = nil, maximumConnections: Int = 10, connectTimeout: Duration = Defaults.connectTimeout,
        rootCertificatePath: String? = nil, statementTimeout: Duration? = Defaults.statementTimeout,
        lockTimeout: Duration? = Defaults.lockTimeout, idleInTransactionTimeout: Duration? = Defaults.idleInTransactionTimeout,
        operationTimeout: Duration = Defaults.operationTimeout
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
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.operationTimeout = operationTimeout
    }

    /// Whether `url` names PostgreSQL (`postgres://` or `postgresql://`).
    public static func isPostgresURL(_ url: String) -> Bool {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        return trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://")
    }

    /// Parses a URL (see the type's documentation). `environment` supplies `PGPASSWORD`
    /// when the URL has no password. Errors never contain the URL.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(PostgresConfigurationError) {
        guard let components = URLComponents(string: url.trimmingCharacters(in: .whitespaces)),
            components.scheme == "postgres" || components.scheme == "postgresql"
        else { throw PostgresConfigurationError("malformed postgres URL") }
        guard var host = components.host, !host.isEmpty else {
            throw PostgresConfigurationError("postgres URL without a host")
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
            try apply(item.name, item.value)
        }
        try validate()
    }

    private mutating func apply(_ name: String, _ value: String?) throws(PostgresConfigurationError) {
        switch name {
        case "sslrootcert":
            guard let path = value, !path.isEmpty else { throw PostgresConfigurationError("sslrootcert needs a file path") }
            rootCertificatePath = path
        case "sslmode":
            switch value {
            case "disable": tls = .disable
            case "allow", "prefer": tls = .prefer
            case "require": tls = .require
            case "verify-ca", "verify-full": tls = .verifyFull
            default: throw PostgresConfigurationError("unknown sslmode \(value ?? "")")
            }
        case "schema":
            schema = value ?? ""
        case "max_connections":
            guard let count = value.flatMap(Int.init), count > 0, count <= 10_000 else {
                throw PostgresConfigurationError("max_connections must be a positive integer, at most 10000")
            }
            maximumConnections = count
        case "connect_timeout":
            connectTimeout = try Self.positiveSeconds(name, value)
        case "operation_timeout":
            operationTimeout = try Self.positiveSeconds(name, value)
        case "statement_timeout":
            statementTimeout = try Self.serverSeconds(name, value)
        case "lock_timeout":
            lockTimeout = try Self.serverSeconds(name, value)
        case "idle_in_transaction_session_timeout":
            idleInTransactionTimeout = try Self.serverSeconds(name, value)
        default:
            throw PostgresConfigurationError("unknown postgres URL parameter \(name)")
        }
    }

    /// A timeout parameter: seconds (decimals allowed) from 0 to ``maximumTimeout``, in
    /// whole milliseconds.
    private static func milliseconds(_ name: String, _ value: String?) throws(PostgresConfigurationError) -> Int64 {
        let limit = Double(maximumTimeout.components.seconds)
        guard let text = value, let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= limit else {
            throw PostgresConfigurationError("\(name) must be a number of seconds from 0 to \(Int(limit))")
        }
        return Int64((seconds * 1000).rounded())
    }

    /// A client-side timeout: at least a millisecond.
    private static func positiveSeconds(_ name: String, _ value: String?) throws(PostgresConfigurationError) -> Duration {
        let millis = try milliseconds(name, value)
        guard millis > 0 else { throw PostgresConfigurationError("\(name) must be at least 0.001 seconds") }
        return .milliseconds(millis)
    }

    /// A server-side timeout: 0 is nil, the server's own setting.
    private static func serverSeconds(_ name: String, _ value: String?) throws(PostgresConfigurationError) -> Duration? {
        let millis = try milliseconds(name, value)
        return millis == 0 ? nil : .milliseconds(millis)
    }

    /// Schema names go into SQL as identifiers: plain lower-case names only.
    public func validate() throws(PostgresConfigurationError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard let first = schema.first, !first.isNumber, schema.count <= 63, schema.allSatisfy(allowed.contains)
        else { throw PostgresConfigurationError("schema must match [a-z_][a-z0-9_]{0,62}") }
        guard maximumConnections > 0 else { throw PostgresConfigurationError("maximumConnections must be positive") }
        for (name, timeout) in [("connect_timeout", connectTimeout), ("operation_timeout", operationTimeout)] {
            guard timeout > .zero, timeout <= Self.maximumTimeout else {
                throw PostgresConfigurationError("\(name) must be more than 0 and at most a day")
            }
        }
        for (name, timeout) in serverTimeouts {
            guard let timeout else { continue }
            guard timeout > .zero, timeout <= Self.maximumTimeout else {
                throw PostgresConfigurationError("\(name) must be more than 0 and at most a day")
            }
        }
    }

    /// The server-side timeouts by their PostgreSQL setting names; nil: the server's own.
    var serverTimeouts: [(String, Duration?)] {
        [
            ("statement_timeout", statementTimeout), ("lock_timeout", lockTimeout),
            ("idle_in_transaction_session_timeout", idleInTransactionTimeout),
        ]
    }

    /// The quoted schema name, for SQL (``validate()`` admits nothing that needs escaping).
    public var quotedSchema: String { "\"\(schema)\"" }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var url = "postgres://\(username)\(password == nil ? "" : ":***")@\(hostPart):\(port)/\(database)"
        var parameters: [String] = []
        if tls != Self.defaultTLS(forHost: host) { parameters.append("sslmode=\(tls.rawValue)") }
        if let rootCertificatePath { parameters.append("sslrootcert=\(rootCertificatePath)") }
        if schema != "public" { parameters.append("schema=\(schema)") }
        let defaults = Self()
        for (name, value, standard) in [
            ("connect_timeout", connectTimeout, defaults.connectTimeout),
            ("operation_timeout", operationTimeout, defaults.operationTimeout),
        ] where value != standard {
            parameters.append("\(name)=\(Self.text(value))")
        }
        for ((name, value), (_, standard)) in zip(serverTimeouts, defaults.serverTimeouts) where value != standard {
            parameters.append("\(name)=\(value.map(Self.text) ?? "0")")
        }
        if !parameters.isEmpty { url += "?" + parameters.joined(separator: "&") }
        return url
    }

    /// Seconds as a URL parameter value: whole seconds, or milliseconds as a decimal.
    private static func text(_ duration: Duration) -> String {
        let millis = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return millis % 1000 == 0 ? "\(millis / 1000)" : "\(Double(millis) / 1000)"
    }

    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["url": description]) }
}
