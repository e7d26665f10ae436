import Foundation
import Logging
import OCRTaskAPI
import PostgresNIO
import PostgresSupport

/// Task records in PostgreSQL, shared by every replica (``SharedTaskRepository``): the
/// store of `--store postgres://...`.
///
/// The connection is opened as the worker's ledger opens it (``PostgresConnectionOptions``:
/// the URL, `PGPASSWORD`, TLS verified off loopback, `schema=` for one store per schema,
/// the timeouts; one ``PostgresPool`` pool). The schema is brought up to date at start
/// by the shared migrator, under an advisory lock so replicas starting together take
/// turns. Lease expiries use the database's clock, so replicas
/// with skewed clocks agree on them. Rows are read without trusting them: a bad row is
/// ``TaskRepositoryError/corruptRecord(id:reason:)``, never a trap.
///
/// Lock order, so no two transactions wait on each other in a cycle: a task row first,
/// then the counter row of all tasks, then the owner's counter row. An insert locks no
/// existing task row.
final class PostgresTaskRepository: SharedTaskRepository {
    /// The schema versions this code knows, in order (``PostgresPool/migrate(component:migrations:legacyVersionTable:timeout:)``).
    /// Never edit an entry: add one. `SCHEMA.` is replaced by the quoted schema name.
    static let migrations: [PostgresMigration] = [
        (
            1,
            [
                """
                CREATE TABLE SCHEMA.ocr_server_tasks (
                    task_id TEXT NOT NULL PRIMARY KEY,
                    owner TEXT NOT NULL,
                    state BIGINT NOT NULL,
                    progress BIGINT NOT NULL,
                    format TEXT NOT NULL,
                    created_at BIGINT NOT NULL, -- milliseconds since 1970, UTC
                    processed_at BIGINT,
                    completed_at BIGINT,
                    detail TEXT,
                    result_name TEXT,
                    expires_at BIGINT,
                    lease_owner TEXT,
                    lease_expires_at TIMESTAMPTZ
                )
                """,
                // The claim's scan: pending tasks, oldest first.
                "CREATE INDEX ocr_server_tasks_pending ON SCHEMA.ocr_server_tasks (created_at) WHERE \(pendingCondition)",
                // Pending tasks per owner, and in all under `allOwners`: admission's counters.
                """
                CREATE TABLE SCHEMA.ocr_server_pending (
                    owner TEXT NOT NULL PRIMARY KEY,
                    pending BIGINT NOT NULL CHECK (pending >= 0)
                )
                """,
            ]
        ),
        (
            2,
            [
                // Runs started and not ended (ServerCore.startAttempt).
                "ALTER TABLE SCHEMA.ocr_server_tasks ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0",
                // When each owner last had a task claimed: claims serve owners in turn.
                "ALTER TABLE SCHEMA.ocr_server_pending ADD COLUMN served_at TIMESTAMPTZ",
            ]
        ),
    ]

    /// The counter row of all tasks; owners are hex digests, never this.
    static let allOwners = "*"

    static let columns =
        "task_id, owner, state, progress, format, created_at, processed_at, completed_at, detail, result_name, expires_at, attempts"

    /// The SQL condition of a pending task (``TaskState/isPending``).
    static let pendingCondition = "(state = 0 OR state > 1)"

    let replicaID: String
    var options: PostgresConnectionOptions { pool.options }
    private let pool: PostgresPool
    private let logger: Logger
    private let tasks: String
    private let pending: String

    /// Makes the pool and brings the schema up to date (waiting at most the options'
    /// connect timeout). Call ``close()`` when done.
    init(options: PostgresConnectionOptions, replicaID: String, logger: Logger) async throws(TaskRepositoryError) {
        self.replicaID = replicaID
        self.logger = logger
        tasks = "\(options.quotedSchema).ocr_server_tasks"
        pending = "\(options.quotedSchema).ocr_server_pending"
        do {
            pool = try PostgresPool(options: options, logger: logger)
        } catch {
            throw .unavailable(error.description)
        }
        do {
            try await pool.migrate(
                component: "ocr_server", migrations: Self.migrations, legacyVersionTable: "ocr_server_schema")
        } catch {
            await pool.close()
            throw Self.mapped(error)
        }
    }

    func close() async {
        await pool.close()
    }

    // MARK: TaskRepository

    func insert(_ task: StoredTask) async throws(TaskRepositoryError) {
        try await insert(task, maxPending: .max, maxPendingPerOwner: .max)
    }

    func insert(_ task: StoredTask, maxPending: Int, maxPendingPerOwner: Int) async throws(TaskRepositoryError) {
        let owner = task.owner
        let counts = task.state.isPending
        try await transaction { connection, logger in
            if counts {
                try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.pending) (owner, pending) VALUES (\(Self.allOwners), 0), (\(owner), 0)
                    ON CONFLICT (owner) DO NOTHING
                    """, logger: logger)
                // All first, then the owner: the lock order of the type's comment.
                for (row, limit, refusal) in [
                    (Self.allOwners, maxPending, TaskStore.Refusal.server), (owner, maxPendingPerOwner, .owner),
                ] {
                    let taken = try await connection.query(
                        """
                        UPDATE \(unescaped: self.pending) SET pending = pending + 1
                        WHERE owner = \(row) AND pending < \(Int64(clamping: limit)) RETURNING pending
                        """, logger: logger
                    ).collect()
                    if taken.isEmpty { throw TaskRepositoryError.refused(refusal) }
                }
            }
            let inserted = try await connection.query(
                """
                INSERT INTO \(unescaped: self.tasks) (\(unescaped: Self.columns))
                VALUES (\(task.id), \(task.owner), \(Int64(task.state.rawValue)), \(Int64(task.progress)),
                    \(task.format.rawValue), \(Self.millis(task.createdAt)), \(task.processedAt.map(Self.millis)),
                    \(task.completedAt.map(Self.millis)), \(task.detail), \(task.resultName), \(task.expiresAt.map(Self.millis)),
                    \(Int64(task.attempts)))
                ON CONFLICT (task_id) DO NOTHING
                RETURNING task_id
                """, logger: logger
            ).collect()
            if inserted.isEmpty { throw TaskRepositoryError.duplicate(task.id) }
        }
    }

    func task(id: String) async throws(TaskRepositoryError) -> StoredTask? {
        try await transaction { connection, logger in
            try await self.fetch(connection, logger, "SELECT \(unescaped: Self.columns) FROM \(unescaped: self.tasks) WHERE task_id = \(id)")
                .first
        }
    }

    func update(id: String, _ change: @escaping @Sendable (inout StoredTask) -> Void) async throws(TaskRepositoryError)
        -> (before: StoredTask, after: StoredTask)?
    {
        let replica = replicaID
        return try await transaction { connection, logger -> (before: StoredTask, after: StoredTask)? in
            guard
                let before = try await self.fetch(
                    connection, logger,
                    """
                    SELECT \(unescaped: Self.columns) FROM \(unescaped: self.tasks)
                    WHERE task_id = \(id) AND lease_owner = \(replica) FOR UPDATE
                    """
                ).first
            else { return nil }
            var after = before
            change(&after)
            after.id = id
            after.owner = before.owner
            guard after != before else { return (before, after) }
            // A task that ends gives its lease up.
            let keepsLease = after.state.isPending
            try await connection.query(
                """
                UPDATE \(unescaped: self.tasks) SET state = \(Int64(after.state.rawValue)), progress = \(Int64(after.progress)),
                    format = \(after.format.rawValue), processed_at = \(after.processedAt.map(Self.millis)),
                    completed_at = \(after.completedAt.map(Self.millis)), detail = \(after.detail),
                    result_name = \(after.resultName), expires_at = \(after.expiresAt.map(Self.millis)),
                    attempts = \(Int64(after.attempts)),
                    lease_owner = CASE WHEN \(keepsLease) THEN lease_owner END,
                    lease_expires_at = CASE WHEN \(keepsLease) THEN lease_expires_at END
                WHERE task_id = \(id)
                """, logger: logger)
            if before.state.isPending != after.state.isPending {
                let delta: Int64 = after.state.isPending ? 1 : -1
                for row in [Self.allOwners, before.owner] {
                    try await connection.query(
                        """
                        UPDATE \(unescaped: self.pending) SET pending = GREATEST(0, pending + \(delta)) WHERE owner = \(row)
                        """, logger: logger)
                }
            }
            return (before, after)
        }
    }

    func pendingTasks() async throws(TaskRepositoryError) -> [StoredTask] {
        try await transaction { connection, logger in
            try await self.fetch(
                connection, logger,
                """
                SELECT \(unescaped: Self.columns) FROM \(unescaped: self.tasks)
                WHERE \(unescaped: Self.pendingCondition) ORDER BY created_at
                """, skippingDamaged: true)
        }
    }

    func stateCounts() async throws(TaskRepositoryError) -> TaskStateCounts {
        try await transaction { connection, logger in
            let rows = try await connection.query(
                """
                SELECT COUNT(*) FILTER (WHERE state = 0), COUNT(*) FILTER (WHERE state > 1), COUNT(*),
                    MIN(created_at) FILTER (WHERE state = 0)
                FROM \(unescaped: self.tasks)
                """, logger: logger)
            var counts = TaskStateCounts()
            for try await (queued, running, stored, oldest) in rows.decode((Int64, Int64, Int64, Int64?).self) {
                counts = TaskStateCounts(
                    queued: Int(clamping: queued), running: Int(clamping: running), stored: Int(clamping: stored),
                    oldestQueuedAt: oldest.flatMap(SQLiteTaskRepository.date(millis:)))
            }
            return counts
        }
    }

    func removeExpired(now: Date, retention: TimeInterval) async throws(TaskRepositoryError) -> [StoredTask] {
        let nowMillis = Self.millis(now)
        let retentionMillis = Self.millis(Date(timeIntervalSince1970: retention))
        return try await transaction { connection, logger in
            try await self.fetch(
                connection, logger,
                """
                DELETE FROM \(unescaped: self.tasks) WHERE NOT \(unescaped: Self.pendingCondition)
                    AND COALESCE(expires_at, COALESCE(completed_at, created_at) + \(retentionMillis)) <= \(nowMillis)
                RETURNING \(unescaped: Self.columns)
                """, skippingDamaged: true)
        }
    }

    // MARK: SharedTaskRepository

    func pendingCounts(owner: String) async throws(TaskRepositoryError) -> (all: Int, owner: Int) {
        try await transaction { connection, logger in
            var all = 0
            var mine = 0
            let rows = try await connection.query(
                "SELECT owner, pending FROM \(unescaped: self.pending) WHERE owner IN (\(Self.allOwners), \(owner))",
                logger: logger)
            for try await (name, count) in rows.decode((String, Int64).self) {
                if name == Self.allOwners { all = Int(clamping: count) } else { mine = Int(clamping: count) }
            }
            return (all, mine)
        }
    }

    func claim(lease: TimeInterval) async throws(TaskRepositoryError) -> ClaimedTask? {
        let replica = replicaID
        let seconds = Self.leaseSeconds(lease)
        return try await transaction { connection, logger -> ClaimedTask? in
            // The row is locked by the inner SELECT; rows other replicas are claiming right
            // now are skipped rather than waited for. Owners take turns: the oldest task of
            // the owner served longest ago (never first), whose counter row then records
            // the turn, so one key's backlog never runs ahead of another key's first task.
            // A task whose lease expired starts over: queued (its progress stays: it never
            // goes back for a client polling).
            let rows = try await connection.query(
                """
                WITH candidate AS (
                    SELECT t.task_id, t.owner, t.lease_owner AS previous FROM \(unescaped: self.tasks) AS t
                    LEFT JOIN \(unescaped: self.pending) AS p ON p.owner = t.owner
                    WHERE \(unescaped: Self.pendingCondition)
                        AND (t.lease_owner IS NULL OR t.lease_expires_at < clock_timestamp())
                    ORDER BY p.served_at ASC NULLS FIRST, t.created_at LIMIT 1
                    FOR UPDATE OF t SKIP LOCKED
                ), served AS (
                    UPDATE \(unescaped: self.pending) SET served_at = clock_timestamp()
                    WHERE owner = (SELECT owner FROM candidate)
                )
                UPDATE \(unescaped: self.tasks) AS t
                SET lease_owner = \(replica), lease_expires_at = clock_timestamp() + make_interval(secs => \(seconds)),
                    state = 0, processed_at = NULL
                FROM candidate WHERE t.task_id = candidate.task_id
                RETURNING t.task_id, t.owner, t.state, t.progress, t.format, t.created_at, t.processed_at, t.completed_at,
                    t.detail, t.result_name, t.expires_at, t.attempts, candidate.previous
                """, logger: logger)
            var claimed: ClaimedTask?
            for try await row in rows.decode(
                (String?, String?, Int64?, Int64?, String?, Int64?, Int64?, Int64?, String?, String?, Int64?, Int64?, String?).self)
            {
                let task = try Self.task(
                    from: (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10, row.11))
                claimed = ClaimedTask(task: task, takenOverFrom: row.12)
            }
            return claimed
        }
    }

    func renew(ids: [String], lease: TimeInterval) async throws(TaskRepositoryError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let replica = replicaID
        let seconds = Self.leaseSeconds(lease)
        return try await transaction { connection, logger in
            var held = Set<String>()
            let rows = try await connection.query(
                """
                UPDATE \(unescaped: self.tasks) SET lease_expires_at = clock_timestamp() + make_interval(secs => \(seconds))
                WHERE task_id = ANY(\(ids)) AND lease_owner = \(replica)
                RETURNING task_id
                """, logger: logger)
            for try await id in rows.decode(String.self) { held.insert(id) }
            return held
        }
    }

    func release(id: String) async throws(TaskRepositoryError) -> Bool {
        let replica = replicaID
        return try await transaction { connection, logger in
            try await !connection.query(
                """
                UPDATE \(unescaped: self.tasks)
                SET state = 0, processed_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
                    attempts = GREATEST(attempts - 1, 0)
                WHERE task_id = \(id) AND lease_owner = \(replica) AND \(unescaped: Self.pendingCondition)
                RETURNING task_id
                """, logger: logger
            ).collect().isEmpty
        }
    }

    // MARK: Rows

    private typealias Columns = (
        String?, String?, Int64?, Int64?, String?, Int64?, Int64?, Int64?, String?, String?, Int64?, Int64?
    )

    /// The tasks `query` returns (columns as ``columns``); with `skippingDamaged`, rows that
    /// do not read back are left out (logged), else the first one is an error.
    private func fetch(
        _ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery, skippingDamaged: Bool = false
    ) async throws -> [StoredTask] {
        var found: [StoredTask] = []
        for try await row in try await connection.query(query, logger: logger).decode(Columns.self) {
            do { found.append(try Self.task(from: row)) } catch {
                guard skippingDamaged else { throw error }
                self.logger.error("task store: a damaged record was left out", metadata: ["reason": "\(error)"])
            }
        }
        return found
    }

    /// Reads a row without trusting it (see the type's comment).
    private static func task(from row: Columns) throws(TaskRepositoryError) -> StoredTask {
        let (id, owner, state, progress, formatName, created, processed, completed, detail, resultName, expires, attempts) = row
        guard let id, !id.isEmpty else { throw .corruptRecord(id: "(no id)", reason: "no task id") }
        guard let owner else { throw .corruptRecord(id: id, reason: "no owner") }
        guard let formatName, let format = OutputFormat(rawValue: formatName) else {
            throw .corruptRecord(id: id, reason: "unknown format")
        }
        guard let state, let stateValue = Int32(exactly: state) else { throw .corruptRecord(id: id, reason: "state out of range") }
        guard let progress, (0...100).contains(progress) else { throw .corruptRecord(id: id, reason: "progress out of range") }
        func date(_ value: Int64?, _ name: String) throws(TaskRepositoryError) -> Date? {
            guard let value else { return nil }
            guard let date = SQLiteTaskRepository.date(millis: value) else {
                throw .corruptRecord(id: id, reason: "\(name) is not a plausible time")
            }
            return date
        }
        guard let createdAt = try date(created, "created_at") else { throw .corruptRecord(id: id, reason: "no creation time") }
        guard let attempts, (0...SQLiteTaskRepository.maximumAttempts).contains(attempts) else {
            throw .corruptRecord(id: id, reason: "attempts out of range")
        }
        return StoredTask(
            id: id, owner: owner, state: TaskState(Int(stateValue)), progress: Int(progress), format: format,
            createdAt: createdAt, processedAt: try date(processed, "processed_at"),
            completedAt: try date(completed, "completed_at"), detail: detail, resultName: resultName,
            expiresAt: try date(expires, "expires_at"), attempts: Int(attempts))
    }

    static func millis(_ date: Date) -> Int64 { SQLiteTaskRepository.millis(date) }

    /// A lease of at least 0.1 s and at most a day, whatever the caller passed.
    static func leaseSeconds(_ lease: TimeInterval) -> Double {
        lease.isFinite ? min(max(0.1, lease), 86_400) : 30
    }

    // MARK: Transactions and errors

    private func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws(TaskRepositoryError) -> T {
        do {
            return try await pool.withTransaction(body)
        } catch {
            throw Self.mapped(error)
        }
    }

    /// A task store error for anything that is not one yet, in words that never hold the
    /// password (``PostgresPoolError/describe(_:)``).
    private static func mapped(_ error: any Error) -> TaskRepositoryError {
        switch error {
        case let error as TaskRepositoryError:
            return error
        case let error as PostgresMigrationError:
            return .unavailable("the task database: \(error.reason)")
        case is CancellationError:
            return .unavailable("cancelled")
        default:
            return .unavailable(PostgresPoolError.describe(error))
        }
    }
}
