import Logging
import PostgresNIO

extension PostgresPool {
    /// The advisory lock every migration in a schema takes (with the schema's name hashed
    /// into it): pods and replicas starting together take turns, components and schemas
    /// never wait for others'.
    static let migrationLockKey: Int64 = 0x6f63_725f_6d69_6772 // "ocr_migr"

    /// Brings `component`'s tables in the options' schema up to date: creates the schema
    /// and `schema_migrations (component, version, applied_at)` when missing, and applies
    /// the steps of `migrations` (numbered 1, 2, ... in order) the table does not list yet,
    /// recording each. All of it is one transaction under `pg_advisory_xact_lock`, so two
    /// processes opening the same schema at once never race: the second waits, then finds
    /// the steps applied. A schema whose recorded version is newer than `migrations` knows
    /// (a rollback to an older build) is an error, never touched.
    ///
    /// `legacyVersionTable`: a table `(version, applied_at)` of the component's versions
    /// from before `schema_migrations` (`ledger_schema`, `ocr_server_schema`); its rows are
    /// taken over the first time, so an existing schema is not migrated again.
    ///
    /// Bounded by the options' connect timeout (opening a store fails in that time when
    /// the server does not answer), or `timeout`.
    public func migrate(
        component: String, migrations: [PostgresMigration], legacyVersionTable: String? = nil, timeout: Duration? = nil
    ) async throws {
        guard migrations.enumerated().allSatisfy({ $0.offset + 1 == $0.element.version }) else {
            throw PostgresMigrationError(component: component, reason: "migrations must be numbered 1, 2, 3, ... in order")
        }
        let schema = options.schema
        let quoted = options.quotedSchema
        let latest = migrations.last?.version ?? 0
        try await withTransaction(timeout: timeout ?? options.connectTimeout) { connection, logger in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(schema), \(Self.migrationLockKey)))", logger: logger)
            if schema != "public" {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(quoted)"), logger: logger)
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(quoted).schema_migrations (
                            component TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                            PRIMARY KEY (component, version)
                        )
                        """), logger: logger)
            var current = try await Self.version(connection, logger, component: component, quoted: quoted)
            if current == 0, let legacy = legacyVersionTable {
                let table = "\(quoted).\(legacy)"
                var exists = false
                for try await found in try await connection.query("SELECT to_regclass(\(table)) IS NOT NULL", logger: logger)
                    .decode(Bool.self)
                {
                    exists = found
                }
                if exists {
                    try await connection.query(
                        """
                        INSERT INTO \(unescaped: quoted).schema_migrations (component, version, applied_at)
                        SELECT \(component), version, applied_at FROM \(unescaped: table)
                        """, logger: logger)
                    current = try await Self.version(connection, logger, component: component, quoted: quoted)
                }
            }
            guard current <= latest else {
                throw PostgresMigrationError(
                    component: component, reason: "version \(current) is newer than this build knows (\(latest))")
            }
            for migration in migrations where migration.version > current {
                for statement in migration.sql {
                    let sql = statement.replacingOccurrences(of: "SCHEMA.", with: "\(quoted).")
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO \(unescaped: quoted).schema_migrations (component, version) VALUES (\(component), \(migration.version))",
                    logger: logger)
            }
        }
    }

    private static func version(_ connection: PostgresConnection, _ logger: Logger, component: String, quoted: String)
        async throws -> Int
    {
        var current = 0
        for try await version in try await connection.query(
            "SELECT COALESCE(MAX(version), 0) FROM \(unescaped: quoted).schema_migrations WHERE component = \(component)",
            logger: logger
        ).decode(Int.self) {
            current = version
        }
        return current
    }
}
