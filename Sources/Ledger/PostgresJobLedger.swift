public import Foundation
public import JobCore
public import Logging
import PostgresNIO
public import PostgresSupport

/// The shared ledger for many worker pods: PostgreSQL through a PostgresNIO
/// `PostgresClient` (a connection pool).
///
/// Lifecycle: open, use, `close()`. On the process's pool (``init(pool:logger:)``)
/// `close()` leaves the pool to its owner; on a pool of its own (``init(options:logger:)``)
/// it stops the pool. Every operation is bounded by the options' operation timeout
/// (``PostgresPool``), and the server's statement and lock timeouts apply.
///
/// Every method is one transaction (READ COMMITTED). Each transition is a single
/// `UPDATE ... WHERE job_id = $1 AND state IN (...) RETURNING ...`: when two pods race on
/// the same row, the second waits for the first's row lock, re-checks the `WHERE` on the
/// committed row and, if the state moved on, matches nothing and is refused.
public final class PostgresJobLedger: JobLedger {
    /// The schema versions this code knows, in order (``PostgresPool/migrate(component:migrations:legacyVersionTable:timeout:)``).
    /// Never edit an entry: add one. `SCHEMA.` is replaced by the quoted schema name.
    static let migrations: [PostgresMigration] = [
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
        // The database's time of a create claim and of each renewal: whether a claim is
        // stale is judged on one clock, not on the writer's against the reader's.
        (2, ["ALTER TABLE SCHEMA.jobs ADD COLUMN claim_renewed_at TIMESTAMPTZ"]),
    ]

    /// ``recordColumns`` and the create claim's age by the database's clock
    /// (``JobRecord/claimAge``): NULL unless the row is `creating`. A row claimed before
    /// `claim_renewed_at` existed is aged by its `updated_at` (the writer's clock).
    private static let columns =
        recordColumns + """
            , CASE WHEN state = 'creating'
                THEN EXTRACT(EPOCH FROM clock_timestamp() - COALESCE(claim_renewed_at, updated_at))::float8 END
            """

    public var options: PostgresConnectionOptions { handle.options }
    private let handle: PostgresPoolHandle
    private let logger: Logger
    private let jobs: String

    /// Opens the ledger on the process's pool (closed by its owner, after the ledger) and
    /// brings its schema up to date, waiting at most the options' connect timeout for the
    /// server. Call `close()` when done.
    public convenience init(pool: PostgresPool, logger: Logger = Logger(label: "ocr-worker.ledger")) async throws {
        try await self.init(handle: .shared(pool), logger: logger)
    }

    /// Opens the ledger on a pool of its own, closed with the ledger.
    public convenience init(options: PostgresConnectionOptions, logger: Logger = Logger(label: "ocr-worker.ledger")) async throws {
        try await self.init(handle: .ledgerOwn(options: options, logger: logger), logger: logger)
    }

    private init(handle: PostgresPoolHandle, logger: Logger) async throws {
        self.handle = handle
        self.logger = logger
        self.jobs = "\(handle.options.quotedSchema).jobs"
        do {
            try await handle.migrate(component: "ledger", migrations: Self.migrations, legacyVersionTable: "ledger_schema")
        } catch let error as PostgresMigrationError {
            throw LedgerError(code: .corrupt, message: error.description)
        } catch {
            throw Self.mapped(error, opening: handle.options)
        }
        logger.debug("postgres ledger open", metadata: ["url": "\(handle.options)"])
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
                RETURNING \(unescaped: Self.columns)
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
            SET state = 'creating', create_attempts = create_attempts + 1, task_id = NULL, updated_at = \(now),
                claim_renewed_at = clock_timestamp()
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.markCreating.stateCondition)
            RETURNING \(unescaped: Self.columns)
            """)
    }

    public func claimCreate(jobID: String, expectedCreateAttempts: Int, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        return try await transition(
            .claimCreate, jobID,
            """
            UPDATE \(unescaped: jobs)
            SET state = 'creating', create_attempts = create_attempts + 1, task_id = NULL, updated_at = \(now),
                claim_renewed_at = clock_timestamp()
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.claimCreate.stateCondition)
                AND create_attempts = \(expectedCreateAttempts)
            RETURNING \(unescaped: Self.columns)
            """)
    }

    public func renewCreateClaim(jobID: String, createAttempts: Int, at: Date) async throws {
        let now = Millis.round(at)
        _ = try await transition(
            .renewCreateClaim, jobID,
            """
            UPDATE \(unescaped: jobs) SET updated_at = \(now), claim_renewed_at = clock_timestamp()
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.renewCreateClaim.stateCondition)
                AND create_attempts = \(createAttempts)
            RETURNING \(unescaped: Self.columns)
            """)
    }

    public func recordTask(jobID: String, taskID: String, createAttempts: Int, at: Date) async throws -> JobRecord {
        let now = Millis.round(at)
        return try await transition(
            .recordTask, jobID,
            """
            UPDATE \(unescaped: jobs) SET state = 'submitted', task_id = \(taskID), updated_at = \(now)
            WHERE job_id = \(jobID) AND \(unescaped: LedgerOperation.recordTask.stateCondition)
                AND create_attempts = \(createAttempts)
            RETURNING \(unescaped: Self.columns)
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
            RETURNING \(unescaped: Self.columns)
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
            RETURNING \(unescaped: Self.columns)
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
            RETURNING \(unescaped: Self.columns)
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
            RETURNING \(unescaped: Self.columns)
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
            RETURNING \(unescaped: Self.columns)
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
        do {
            try await handle.pool.execute("SELECT 1", timeout: options.connectTimeout)
        } catch {
            throw Self.mapped(error)
        }
    }

    public func close() async {
        await handle.close()
    }

    // MARK: Helpers

    private func checkOpen() throws {
        if handle.isClosed { throw LedgerError.closed }
    }

    private func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try checkOpen()
        do {
            return try await handle.pool.withTransaction(body)
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
            "SELECT \(unescaped: Self.columns) FROM \(unescaped: jobs) WHERE job_id = \(jobID)")
    }

    private static func fetchRecord(_ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery)
        async throws -> JobRecord?
    {
        var record: JobRecord?
        let rows = try await connection.query(query, logger: logger)
        for try await row in rows.decode(
            (String, String, String, String?, Int, Int, ByteBuffer?, Date, Date, Date?, Double?).self)
        {
            let (jobID, fingerprint, stateName, taskID, creates, polls, result, firstSeen, updated, published, claimAge) = row
            guard let state = JobState(rawValue: stateName) else {
                throw LedgerError(code: .corrupt, jobID: jobID, message: "unknown state \(stateName)")
            }
            record = JobRecord(
                jobID: jobID, fingerprint: fingerprint, state: state, taskID: taskID, createAttempts: creates,
                pollAttempts: polls, resultMessage: result.map { Array($0.readableBytesView) },
                firstSeenAt: Millis.round(firstSeen), updatedAt: Millis.round(updated),
                publishedAt: published.map(Millis.round), claimAge: claimAge.map { max(0, $0) })
        }
        return record
    }

    /// A ledger error for anything that is not one yet (in words that never hold the
    /// password: ``PostgresPoolError/describe(_:)``); `opening` names the ledger being
    /// opened.
    private static func mapped(_ error: any Error, opening: PostgresConnectionOptions? = nil) -> any Error {
        switch error {
        case is LedgerError, is CancellationError:
            return error
        case PostgresPoolError.closed:
            return LedgerError.closed
        default:
            let context = opening.map { "opening the ledger at \($0): " } ?? ""
            return LedgerError(code: .unavailable, message: context + PostgresPoolError.describe(error))
        }
    }
}
