import PostgresNIO
import PostgresSupport
import TestSupport
import Testing

@Suite("Migrator", .tags(.postgres))
struct MigratorTests {
    static let steps: [PostgresMigration] = [
        (1, ["CREATE TABLE SCHEMA.things (id TEXT PRIMARY KEY)"]),
        (2, ["ALTER TABLE SCHEMA.things ADD COLUMN size BIGINT NOT NULL DEFAULT 0"]),
    ]

    /// The component's recorded versions, in order.
    static func versions(_ pool: PostgresPool, _ component: String) async throws -> [Int] {
        let schema = pool.options.quotedSchema
        return try await pool.withConnection { connection, logger in
            var found: [Int] = []
            for try await version in try await connection.query(
                "SELECT version FROM \(unescaped: schema).schema_migrations WHERE component = \(component) ORDER BY version" as PostgresQuery,
                logger: logger
            ).decode(Int.self) {
                found.append(version)
            }
            return found
        }
    }

    @Test("steps apply once, in order; a later build applies only its new step")
    func appliesOnce() async throws {
        let options = try TestDatabase.options()
        try await TestDatabase.with(options) { pool in
            try await pool.migrate(component: "things", migrations: Array(Self.steps.prefix(1)))
            #expect(try await Self.versions(pool, "things") == [1])
            try await pool.migrate(component: "things", migrations: Self.steps)
            try await pool.migrate(component: "things", migrations: Self.steps)
            #expect(try await Self.versions(pool, "things") == [1, 2])
            // Another component in the same schema has its own numbers.
            try await pool.migrate(component: "others", migrations: [(1, ["CREATE TABLE SCHEMA.others (id TEXT)"])])
            #expect(try await Self.versions(pool, "others") == [1])
        }
    }

    @Test("processes opening one schema at once take turns: every step once, no error")
    func concurrentOpens() async throws {
        let options = try TestDatabase.options()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    // A pool each, as separate pods have.
                    try await TestDatabase.with(options) { pool in
                        try await pool.migrate(component: "things", migrations: Self.steps)
                    }
                }
            }
            try await group.waitForAll()
        }
        let versions = try await TestDatabase.with(options) { pool in try await Self.versions(pool, "things") }
        #expect(versions == [1, 2])
    }

    @Test("a schema newer than the build is refused and left alone")
    func newerSchema() async throws {
        let options = try TestDatabase.options()
        try await TestDatabase.with(options) { pool in
            try await pool.migrate(component: "things", migrations: Self.steps)
            await #expect(throws: PostgresMigrationError.self) {
                try await pool.migrate(component: "things", migrations: Array(Self.steps.prefix(1)))
            }
            #expect(try await Self.versions(pool, "things") == [1, 2])
        }
    }

    @Test("the versions of a table kept before schema_migrations are taken over, not applied again")
    func legacyVersions() async throws {
        let options = try TestDatabase.options()
        try await TestDatabase.with(options) { pool in
            let schema = options.quotedSchema
            try await pool.withTransaction { connection, logger in
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "CREATE TABLE \(schema).things_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                    ),
                    logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \(schema).things_schema (version) VALUES (1)"), logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(schema).things (id TEXT PRIMARY KEY)"), logger: logger)
            }
            // Step 1 (CREATE TABLE without IF NOT EXISTS) would fail if it ran again.
            try await pool.migrate(component: "things", migrations: Self.steps, legacyVersionTable: "things_schema")
            #expect(try await Self.versions(pool, "things") == [1, 2])
        }
    }
}
