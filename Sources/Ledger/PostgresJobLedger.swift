public import JobCore
public import Foundation
public import Logging
import PostgresNIO
import Synchronization

/// The shared ledger for many worker pods: PostgreSQL through a PostgresNIO
/// `PostgresClient` (a connection pool).
///
/// Lifecycle: the ledger owns its client. `init` starts `client.run()` in a task of its
/// own and `close()` cancels that task and waits for it, so callers need no
/// ServiceLifecycle wiring: open, use, `close()`. Forgetting `close()` leaves the pool's
/// task running until the process exits.
///
/// Every method is one transaction (READ COMMITTED). Each transition is a single
/// `UPDATE ... WHERE job_id = $1 AND state IN (...) RETURNING ...`: when two pods race on
/// the same row, the second waits for the first's row lock, re-checks the `WHERE` on the
/// committed row and, if the state moved on, matches nothing and is refused.
public final class PostgresJobLedger: JobLedger {
    /// The schema versions this code knows, in order. Never edit an entry: add one.
    /// `SCHEMA` is replaced by the quoted schema name.
    static let migrations: [(version: Int, sql: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE SCHEMA.jobs (
                    job_id TEXT NOT NULL PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN (\(allStatesSQL))),
                    task_id TEXT,
                    create_attempts BIGINT NOT NULL DEFAULT 0,
                    poll_attempts BIGINT NOT NULL DEFAULT 0,
                    result_message BYTEA,
                    first_seen_at TIMESTAMPTZ NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL,
                    published_at TIMESTAMPTZ
                )
                """,
                "CREATE INDEX jobs_state ON SCHEMA.jobs (state)",
            ]
        ),
    ]

    /// Serialises schema creation between pods opening the ledger at once.
    static let migrationLockKey: Int64 = 0x6f63_725f_6c65_6467  // "ocr_ledg"

    public let options: PostgresLedgerOptions
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let jobs: String
    private let closed = Mutex(false)

    /// Connects, starts the pool and brings the schema up to date (waiting at most
    /// `options.connectTimeout` for the server). Call `close()` when done.
    public init(options: PostgresLedgerOptions, logger: Logger = Logger(label: "ocr-worker.ledger")) async throws {
        try options.validate()
        self.options = options
        self.logger = logger
        self.jobs = "\"\(options.schema)\".jobs"

        let client = PostgresClient(configuration: options.clientConfiguration(), backgroundLogger: logger)
        self.client = client
        self.runTask = Task { await client.run() }

        do {
            let schema = options.schema
            try await withDeadline(options.connectTimeout, what: "opening the ledger at \(options)") {
                try await Self.migrate(client, schema: schema, logger: logger)
            }
        } catch {
            runTask.cancel()
            await runTask.value
            throw Self.mapped(error)
        }
        logger.debug("postgres ledger open", metadata: ["url": "\(options)"])
    }

    static func migrate(_ client: PostgresClient, schema: String, logger: Logger) async throws {
        let quoted = "\"\(schema)\""
        try await client.withTransaction(logger: logger) { connection in
            // One lock per schema: pods migrating the same schema take turns, while
            // ledgers in other schemas (tests, tenants) never wait for each other.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(schema), \(migrationLockKey)))", logger: logger)
            if schema != "public" {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(quoted)"), logger: logger)
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(quoted).ledger_schema (
                            version INTEGER NOT NULL PRIMARY KEY,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                        )
                        """), logger: logger)
            var current = 0
            for try await version in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT COALESCE(MAX(version), 0) FROM \(quoted).ledger_schema"),
                logger: logger
            ).decode(Int.self) {
                current = version
            }
            let latest = migrations.last?.version ?? 0
            guard current <= latest else {
                throw LedgerError(
                    code: .corrupt,
                    message: "ledger schema version \(current) is newer than this build knows (\(latest))")
            }
            for migration in migrations where migration.version > current {
                for statement in migration.sql {
                    let sql = statement.replacingOccurrences(of: "SCHEMA.", with: "\(quoted).")
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO \(quoted).ledger_schema (version) VALUES ($1)",
                        binds: bindings(migration.version)), logger: logger)
            }
        }
    }

    private static func bindings(_ value: Int) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(value, context: .default)
        return binds
    }

    // MARK: JobLedger

    public func accept(jobID: String, fingerprint: String, at: Date) async throws -> (record: JobRecord, isNew: Bool) {
        let now = Millis.round(at)
        return try await transaction { connection, logger in
            let inserted = try await Self.fetchRecord(
                connection, logger,
                """
                INSERT INTO \(unescaped: self.jobs) (job_id, fingerprint, state, first_seen_at, updated_at)
                VALUES (\(jobID), \(fingerprint), 'accepted', \(now), \(now))
                ON CONFLICT (job_id) DO NOTHING
                RETURNING \(unescaped: recordColumns)
                """)
            if let inserted { return (inserted, true) }
            // A new statement: under READ COMMITTED it sees the row a racing pod committed.
            guard let existing = try await self.fetch(connection, logger, jobID) else {
                throw LedgerError(code: .corrupt, jobID: jobID, message: "accept: row neither inserted nor found")
            }
            return (existing, false)
        }
    }

    public func markCreating(jobID: String, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        return try await transition(
            .markCreating, jobID,
            """
            UPDATE \(unescaped: jobs)
            SET state = 'creating', create_attempts = create_attempts + 1, task_id = NULL, updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.markCreating.stateCondition)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func claimCreate(jobID: String, expectedCreateAttempts: Int, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        return try await transition(
            .claimCreate, jobID,
            """
            UPDATE \(unescaped: jobs)
            SET state = 'creating', create_attempts = create_attempts + 1, task_id = NULL, updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.claimCreate.stateCondition)
                AND create_attempts = \(expectedCreateAttempts)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func renewCreateClaim(jobID: String, createAttempts: Int, at: Date) async throws {
        let now = Millis.round(at)
        _ = try await transition(
            .renewCreateClaim, jobID,
            """
            UPDATE \(unescaped: jobs) SET updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.renewCreateClaim.stateCondition)
                AND create_attempts = \(createAttempts)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func recordTask(jobID: String, taskID: String, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        return try await transition(
            .recordTask, jobID,
            """
            UPDATE \(unescaped: jobs) SET state = 'submitted', task_id = \(taskID), updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.recordTask.stateCondition)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func recordPolls(jobID: String, count: Int, at: Date) async throws {
        guard count >= 0 else {
            throw LedgerError(code: .invalidTransition, jobID: jobID, message: "recordPolls: negative count \(count)")
        }
        let now = Millis.round(at)
        _ = try await transition(
            .recordPolls, jobID,
            """
            UPDATE \(unescaped: jobs) SET poll_attempts = poll_attempts + \(count), updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.recordPolls.stateCondition)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func complete(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        let bytes = ByteBuffer(bytes: resultMessage)
        let polls = try pollsToAdd(polls, jobID)
        return try await transition(
            .complete, jobID,
            """
            UPDATE \(unescaped: jobs) SET state = 'completed', result_message = \(bytes),
                poll_attempts = poll_attempts + \(polls), updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.complete.stateCondition)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func fail(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        let bytes = ByteBuffer(bytes: resultMessage)
        let polls = try pollsToAdd(polls, jobID)
        return try await transition(
            .fail, jobID,
            """
            UPDATE \(unescaped: jobs) SET state = 'failed', result_message = \(bytes),
                poll_attempts = poll_attempts + \(polls), updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.fail.stateCondition)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func reopen(jobID: String, fingerprint: String, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        return try await transition(
            .reopen, jobID,
            """
            UPDATE \(unescaped: jobs)
            SET state = 'accepted', fingerprint = \(fingerprint), task_id = NULL, result_message = NULL,
                published_at = NULL, updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.reopen.stateCondition)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func markPublished(jobID: String, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        return try await transition(
            .markPublished, jobID,
            """
            UPDATE \(unescaped: jobs)
            SET state = CASE state WHEN 'completed' THEN 'published' ELSE state END,
                published_at = COALESCE(published_at, \(now)), updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.markPublished.stateCondition)
            RETURNING \(unescaped: recordColumns)
            """)
    }

    public func record(jobID: String) async throws -> JobRecord? {
        try await transaction { connection, logger in try await self.fetch(connection, logger, jobID) }
    }

    public func countByState() async throws -> [JobState: Int] {
        try await transaction { connection, logger in
            var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
            let rows = try await connection.query(
                "SELECT state, COUNT(*) FROM \(unescaped: self.jobs) GROUP BY state", logger: logger)
            for try await (name, count) in rows.decode((String, Int).self) {
                guard let state = JobState(rawValue: name) else {
                    throw LedgerError(code: .corrupt, message: "unknown state \(name) in the jobs table")
                }
                counts[state] = count
            }
            return counts
        }
    }

    public func ping() async throws {
        try checkOpen()
        let client = client
        let logger = logger
        do {
            _ = try await withDeadline(options.connectTimeout, what: "ledger ping") {
                try await client.query("SELECT 1", logger: logger).collect()
            }
        } catch {
            throw Self.mapped(error)
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

    // MARK: Helpers

    private func checkOpen() throws {
        if closed.withLock({ $0 }) { throw LedgerError.closed }
    }

    private func transaction<T: Sendable>(
        _ body: (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try checkOpen()
        let logger = logger
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(connection, logger)
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// One conditional `UPDATE`; when it matches no row, a read in the same transaction
    /// tells a missing job from a refused transition.
    private func transition(_ operation: LedgerOperation, _ jobID: String, _ update: PostgresQuery) async throws
        -> JobRecord
    {
        try await transaction { connection, logger in
            if let updated = try await Self.fetchRecord(connection, logger, update) { return updated }
            throw refusal(jobID, operation, current: try await self.fetch(connection, logger, jobID))
        }
    }

    private func fetch(_ connection: PostgresConnection, _ logger: Logger, _ jobID: String) async throws -> JobRecord? {
        try await Self.fetchRecord(
            connection, logger,
            "SELECT \(unescaped: recordColumns) FROM \(unescaped: jobs) WHERE job_id = \(jobID)")
    }

    private static func fetchRecord(_ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery)
        async throws -> JobRecord?
    {
        var record: JobRecord?
        let rows = try await connection.query(query, logger: logger)
        for try await row in rows.decode(
            (String, String, String, String?, Int, Int, ByteBuffer?, Date, Date, Date?).self)
        {
            let (jobID, fingerprint, stateName, taskID, creates, polls, result, firstSeen, updated, published) = row
            guard let state = JobState(rawValue: stateName) else {
                throw LedgerError(code: .corrupt, jobID: jobID, message: "unknown state \(stateName)")
            }
            record = JobRecord(
                jobID: jobID, fingerprint: fingerprint, state: state, taskID: taskID, createAttempts: creates,
                pollAttempts: polls, resultMessage: result.map { Array($0.readableBytesView) },
                firstSeenAt: Millis.round(firstSeen), updatedAt: Millis.round(updated),
                publishedAt: published.map(Millis.round))
        }
        return record
    }

    /// PSQLError's description is deliberately generic; take the server's message and
    /// code, which never contain the password.
    private static func mapped(_ error: any Error) -> any Error {
        switch error {
        case is LedgerError, is CancellationError:
            return error
        case let error as PostgresTransactionError:
            // The closure's own error (a refused transition, say) is what happened; a
            // failed BEGIN or COMMIT is the connection's.
            if let cause = error.closureError ?? error.commitError ?? error.beginError { return mapped(cause) }
            return LedgerError(code: .unavailable, message: "postgres: transaction failed")
        case let error as PSQLError:
            var message = "postgres: \(error.code)"
            if let server = error.serverInfo {
                message += " \(server[.sqlState] ?? ""): \(server[.message] ?? "")"
            }
            if let underlying = error.underlying { message += " (\(underlying))" }
            return LedgerError(code: .unavailable, message: message)
        default:
            return LedgerError(code: .unavailable, message: "postgres: \(error)")
        }
    }
}
