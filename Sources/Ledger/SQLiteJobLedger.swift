public import Foundation
import GRDB
public import JobCore
public import Logging
import Synchronization

/// The embedded ledger: one SQLite file (WAL mode, through a GRDB `DatabasePool`) or an
/// in-memory database (a `DatabaseQueue`, gone on `close()`).
///
/// Every method is atomic: a savepoint of its own inside a transaction that concurrent
/// calls share (``SQLiteGroupCommit``: one commit for many jobs' steps under load); each
/// call returns only after its transaction committed. Each transition is a single
/// `UPDATE ... WHERE job_id = ? AND state IN (...) RETURNING ...`. Several ledgers (or
/// processes) may open the same file: SQLite serialises their writes, and a writer that
/// finds the file locked waits up to `busyTimeout`.
public final class SQLiteJobLedger: JobLedger {
    public enum Location: Sendable, Hashable {
        case file(String)
        case inMemory
    }

    /// The schema versions this code knows, in order. Never edit an entry: add one.
    static let migrations: [(version: Int, sql: String)] = [
        (
            1,
            """
            CREATE TABLE jobs (
                job_id TEXT NOT NULL PRIMARY KEY,
                fingerprint TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN (\(allStatesSQL))),
                task_id TEXT,
                create_attempts INTEGER NOT NULL DEFAULT 0,
                poll_attempts INTEGER NOT NULL DEFAULT 0,
                result_message BLOB,
                first_seen_at INTEGER NOT NULL, -- milliseconds since 1970, UTC
                updated_at INTEGER NOT NULL,
                published_at INTEGER
            );
            CREATE INDEX jobs_state ON jobs (state);
            """
        )
    ]

    public let location: Location
    private let writer: any DatabaseWriter
    private let groupCommit: SQLiteGroupCommit
    private let logger: Logger
    private let closed = Mutex(false)

    /// Opens (creating when missing) the ledger at `location` and brings its schema up to
    /// date. A file is private to this user (``PrivateSQLiteFile``); its parent directory
    /// is created too.
    public init(
        location: Location, busyTimeout: TimeInterval = 10,
        logger: Logger = Logger(label: "ocr-worker.ledger")
    ) async throws {
        self.location = location
        self.logger = logger
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "ocr-worker.ledger"
        do {
            switch location {
            case .file(let path):
                try PrivateSQLiteFile.prepare(path)
                writer = try DatabasePool(path: path, configuration: configuration)
            case .inMemory:
                writer = try DatabaseQueue(configuration: configuration)
            }
            try await writer.write { db in try Self.migrate(db) }
        } catch {
            throw Self.mapped(error)
        }
        groupCommit = SQLiteGroupCommit(writer: writer)
        logger.debug("sqlite ledger open", metadata: ["location": "\(location)"])
    }

    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS ledger_schema (
                    version INTEGER NOT NULL PRIMARY KEY,
                    applied_at INTEGER NOT NULL
                )
                """)
        let current = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM ledger_schema") ?? 0
        let latest = migrations.last?.version ?? 0
        guard current <= latest else {
            throw LedgerError(
                code: .corrupt,
                message: "ledger schema version \(current) is newer than this build knows (\(latest))")
        }
        for migration in migrations where migration.version > current {
            try db.execute(sql: migration.sql)
            try db.execute(
                sql: "INSERT INTO ledger_schema (version, applied_at) VALUES (?, ?)",
                arguments: [migration.version, Millis.from(Date())])
        }
    }

    // MARK: JobLedger

    public func accept(jobID: String, fingerprint: String, at: Date) async throws -> (record: JobRecord, isNew: Bool) {
        try await write { db in
            let now = Millis.from(at)
            let inserted = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        INSERT INTO jobs (job_id, fingerprint, state, first_seen_at, updated_at)
                        VALUES (?, ?, 'accepted', ?, ?)
                        ON CONFLICT (job_id) DO NOTHING
                        RETURNING \(recordColumns)
                        """),
                arguments: [jobID, fingerprint, now, now])
            if let inserted { return (try Self.record(inserted), true) }
            guard let existing = try Self.fetch(db, jobID) else {
                throw LedgerError(code: .corrupt, jobID: jobID, message: "accept: row neither inserted nor found")
            }
            return (existing, false)
        }
    }

    public func markCreating(jobID: String, at: Date) async throws -> JobRecord {
        try await transition(
            .markCreating, jobID,
            set: "state = 'creating', create_attempts = create_attempts + 1, task_id = NULL, updated_at = ?",
            [Millis.from(at)])
    }

    public func claimCreate(jobID: String, expectedCreateAttempts: Int, at: Date) async throws -> JobRecord {
        try await transition(
            .claimCreate, jobID,
            set: "state = 'creating', create_attempts = create_attempts + 1, task_id = NULL, updated_at = ?",
            [Millis.from(at)], condition: "create_attempts = ?", [expectedCreateAttempts])
    }

    public func renewCreateClaim(jobID: String, createAttempts: Int, at: Date) async throws {
        _ = try await transition(
            .renewCreateClaim, jobID, set: "updated_at = ?", [Millis.from(at)],
            condition: "create_attempts = ?", [createAttempts])
    }

    public func recordTask(jobID: String, taskID: String, createAttempts: Int, at: Date) async throws -> JobRecord {
        try await transition(
            .recordTask, jobID, set: "state = 'submitted', task_id = ?, updated_at = ?", [taskID, Millis.from(at)],
            condition: "create_attempts = ?", [createAttempts], durable: true)
    }

    public func recordPolls(jobID: String, count: Int, at: Date) async throws {
        guard count >= 0 else {
            throw LedgerError(code: .invalidTransition, jobID: jobID, message: "recordPolls: negative count \(count)")
        }
        _ = try await transition(
            .recordPolls, jobID, set: "poll_attempts = poll_attempts + ?, updated_at = ?", [count, Millis.from(at)])
    }

    public func complete(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord {
        // COALESCE: an empty Data may bind as NULL; an empty result is still a result.
        try await transition(
            .complete, jobID,
            set: "state = 'completed', result_message = COALESCE(?, X''), poll_attempts = poll_attempts + ?, updated_at = ?",
            [Data(resultMessage), try pollsToAdd(polls, jobID), Millis.from(at)])
    }

    public func fail(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord {
        try await transition(
            .fail, jobID,
            set: "state = 'failed', result_message = COALESCE(?, X''), poll_attempts = poll_attempts + ?, updated_at = ?",
            [Data(resultMessage), try pollsToAdd(polls, jobID), Millis.from(at)])
    }

    public func reopen(jobID: String, fingerprint: String, at: Date) async throws -> JobRecord {
        try await transition(
            .reopen, jobID,
            set: """
                state = 'accepted', fingerprint = ?, task_id = NULL, result_message = NULL,
                published_at = NULL, updated_at = ?
                """,
            [fingerprint, Millis.from(at)])
    }

    public func markPublished(jobID: String, at: Date) async throws -> JobRecord {
        let now = Millis.from(at)
        return try await transition(
            .markPublished, jobID,
            set: """
                state = CASE state WHEN 'completed' THEN 'published' ELSE state END,
                published_at = COALESCE(published_at, ?), updated_at = ?
                """,
            [now, now])
    }

    public func record(jobID: String) async throws -> JobRecord? {
        try checkOpen()
        do {
            return try await writer.read { db in try Self.fetch(db, jobID) }
        } catch {
            throw Self.mapped(error)
        }
    }

    public func countByState() async throws -> [JobState: Int] {
        try checkOpen()
        do {
            let rows = try await writer.read { db in
                try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                    .map { ($0["state"] as String, $0["n"] as Int) }
            }
            var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
            for (state, count) in rows {
                guard let state = JobState(rawValue: state) else {
                    throw LedgerError(code: .corrupt, message: "unknown state \(state) in the jobs table")
                }
                counts[state] = count
            }
            return counts
        } catch {
            throw Self.mapped(error)
        }
    }

    public func ping() async throws {
        try checkOpen()
        do {
            _ = try await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
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
        do {
            try writer.close()
        } catch {
            logger.warning("closing the sqlite ledger failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Helpers

    /// Transactions committed synced to disk (for tests).
    var durableCommits: Int { groupCommit.durableCommits }

    private func checkOpen() throws {
        if closed.withLock({ $0 }) { throw LedgerError.closed }
    }

    private func write<T: Sendable>(durable: Bool = false, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await groupCommit.write(durable: durable, body)
        } catch {
            throw Self.mapped(error)
        }
    }

    /// One conditional `UPDATE`; when it matches no row, a read in the same transaction
    /// tells a missing job from a refused transition.
    private func transition(
        _ operation: LedgerOperation, _ jobID: String, set assignments: String, _ values: [any DatabaseValueConvertible],
        condition: String? = nil, _ conditionValues: [any DatabaseValueConvertible] = [], durable: Bool = false
    ) async throws -> JobRecord {
        let arguments = StatementArguments((values + [jobID] + conditionValues).map { $0 as (any DatabaseValueConvertible)? })
        let sql = """
            UPDATE jobs SET \(assignments)
            WHERE job_id = ? AND \(operation.stateCondition)\(condition.map { " AND \($0)" } ?? "")
            RETURNING \(recordColumns)
            """
        return try await write(durable: durable) { db in
            if let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) {
                return try Self.record(row)
            }
            throw refusal(jobID, operation, current: try Self.fetch(db, jobID))
        }
    }

    private static func fetch(_ db: Database, _ jobID: String) throws -> JobRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(recordColumns) FROM jobs WHERE job_id = ?"), arguments: [jobID])
            .map(record)
    }

    /// Reads a row without trusting it: GRDB's typed subscripts trap on a value of the wrong
    /// type (a ledger file edited by hand, or written by something else), so each column
    /// is read as a `DatabaseValue` and converted with checks; a bad one is `.corrupt`.
    /// Columns are read by their position in ``recordColumns`` (a lookup by name lowercases
    /// the name on every read, which was a visible share of the ledger's CPU).
    private static func record(_ row: Row) throws -> JobRecord {
        let jobID = try column(row, 0, "job_id", String.self) ?? ""
        func required<T: DatabaseValueConvertible>(_ index: Int, _ name: String, _ type: T.Type) throws -> T {
            guard let value = try column(row, index, name, type, jobID: jobID) else {
                throw LedgerError(code: .corrupt, jobID: jobID, message: "column \(name) is null")
            }
            return value
        }
        func count(_ index: Int, _ name: String) throws -> Int {
            guard let value = Int(exactly: try required(index, name, Int64.self)), value >= 0 else {
                throw LedgerError(code: .corrupt, jobID: jobID, message: "column \(name) is out of range")
            }
            return value
        }
        let stateName = try required(2, "state", String.self)
        guard let state = JobState(rawValue: stateName) else {
            throw LedgerError(code: .corrupt, jobID: jobID, message: "unknown state \(stateName)")
        }
        let result = try column(row, 6, "result_message", Data.self, jobID: jobID)
        let publishedAt = try column(row, 9, "published_at", Int64.self, jobID: jobID)
        return JobRecord(
            jobID: jobID, fingerprint: try required(1, "fingerprint", String.self), state: state,
            taskID: try column(row, 3, "task_id", String.self, jobID: jobID),
            createAttempts: try count(4, "create_attempts"), pollAttempts: try count(5, "poll_attempts"),
            resultMessage: result.map { [UInt8]($0) },
            firstSeenAt: Millis.date(try required(7, "first_seen_at", Int64.self)),
            updatedAt: Millis.date(try required(8, "updated_at", Int64.self)),
            publishedAt: publishedAt.map(Millis.date))
    }

    /// Column `index` (named `name` in ``recordColumns``), `nil` for SQL NULL; throws
    /// `.corrupt` for a value that is not a `T` (text in an integer column, invalid UTF-8
    /// in a text one) or a row without that column.
    private static func column<T: DatabaseValueConvertible>(
        _ row: Row, _ index: Int, _ name: String, _ type: T.Type, jobID: String? = nil
    ) throws -> T? {
        guard index < row.count else {
            throw LedgerError(code: .corrupt, jobID: jobID, message: "column \(name) is missing")
        }
        let value: DatabaseValue = row[index]
        if value.isNull { return nil }
        guard let converted = T.fromDatabaseValue(value) else {
            throw LedgerError(code: .corrupt, jobID: jobID, message: "column \(name) holds a value of the wrong type")
        }
        return converted
    }

    private static func mapped(_ error: any Error) -> any Error {
        switch error {
        case is LedgerError, is CancellationError: error
        case let error as DatabaseError:
            LedgerError(code: error.resultCode == .SQLITE_CORRUPT ? .corrupt : .unavailable, message: "sqlite: \(error)")
        default: LedgerError(code: .unavailable, message: "sqlite: \(error)")
        }
    }
}
