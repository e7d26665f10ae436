import Foundation
import GRDB
import OCRTaskAPI

/// Task records in one SQLite file (WAL mode, through a GRDB `DatabasePool`): the default
/// store, in the data directory, so tasks and their results outlive a restart.
///
/// The file (and SQLite's `-wal` and `-shm` files beside it, which take its mode) is
/// created 0600: task records name other people's documents. Rows are read without
/// trusting them (a file edited by hand or damaged): each column is converted with checks
/// and a bad row is ``TaskRepositoryError/corruptRecord(id:reason:)``, never a trap.
final class SQLiteTaskRepository: TaskRepository {
    /// The schema versions this code knows, in order. Never edit an entry: add one.
    static let migrations: [(version: Int, sql: String)] = [
        (
            1,
            """
            CREATE TABLE tasks (
                task_id TEXT NOT NULL PRIMARY KEY,
                owner TEXT NOT NULL,
                state INTEGER NOT NULL,
                progress INTEGER NOT NULL,
                format TEXT NOT NULL,
                created_at INTEGER NOT NULL, -- milliseconds since 1970, UTC
                processed_at INTEGER,
                completed_at INTEGER,
                detail TEXT,
                result_name TEXT,
                expires_at INTEGER
            );
            CREATE INDEX tasks_state ON tasks (state);
            """
        ),
        (2, "ALTER TABLE tasks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"),
    ]

    static let columns =
        "task_id, owner, state, progress, format, created_at, processed_at, completed_at, detail, result_name, expires_at, attempts"

    /// The most attempts a record may say (a larger number is a damaged row).
    static let maximumAttempts: Int64 = 1_000_000

    /// The SQL condition of a pending task (``TaskState/isPending``).
    static let pendingCondition = "(state = 0 OR state > 1)"

    let path: String
    private let pool: DatabasePool

    /// Opens (creating when missing, 0600) the database at `path` and brings its schema up
    /// to date.
    init(path: String, busyTimeout: TimeInterval = 10) throws(TaskRepositoryError) {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "ocr-server.tasks"
        // WAL with synchronous=NORMAL: a commit is an append to the WAL, no fsync (the WAL
        // is synced at checkpoints). Committed tasks survive a crash or kill of the
        // process; a power cut may lose the last moments (a progress step, a task just
        // created). An fsync per progress step blocked request handlers for hundreds of
        // milliseconds on a busy disk.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw TaskRepositoryError.unavailable("could not create \(path)")
                }
            }
            for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try pool.write { db in try Self.migrate(db) }
        } catch let error as TaskRepositoryError {
            throw error
        } catch {
            throw Self.mapped(error)
        }
    }

    static func migrate(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS task_schema (version INTEGER NOT NULL PRIMARY KEY)")
        let current = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM task_schema") ?? 0
        let known = migrations.last?.version ?? 0
        guard current <= known else {
            throw TaskRepositoryError.unavailable("the task database has schema version \(current); this build knows up to \(known)")
        }
        for migration in migrations where migration.version > current {
            try db.execute(sql: migration.sql)
            try db.execute(sql: "INSERT INTO task_schema (version) VALUES (?)", arguments: [migration.version])
        }
    }

    func insert(_ task: StoredTask) throws(TaskRepositoryError) {
        try perform {
            try pool.write { db in
                if try Self.fetch(db, id: task.id) != nil { throw TaskRepositoryError.duplicate(task.id) }
                try Self.write(task, db)
            }
        }
    }

    func task(id: String) throws(TaskRepositoryError) -> StoredTask? {
        try perform { try pool.read { db in try Self.fetch(db, id: id) } }
    }

    func update(id: String, _ change: @escaping @Sendable (inout StoredTask) -> Void) throws(TaskRepositoryError)
        -> (before: StoredTask, after: StoredTask)?
    {
        try perform {
            try pool.write { db -> (before: StoredTask, after: StoredTask)? in
                guard let before = try Self.fetch(db, id: id) else { return nil }
                var after = before
                change(&after)
                after.id = id
                if after != before { try Self.write(after, db) }
                return (before, after)
            }
        }
    }

    func pendingTasks() throws(TaskRepositoryError) -> [StoredTask] {
        try perform {
            try pool.read { db in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT \(Self.columns) FROM tasks WHERE \(Self.pendingCondition) ORDER BY created_at")
                // A damaged row can be neither run nor answered: it is left out rather than
                // keeping the server from starting (a query of it is an error).
                return rows.compactMap { try? Self.task(from: $0) }
            }
        }
    }

    func stateCounts() throws(TaskRepositoryError) -> TaskStateCounts {
        try perform {
            try pool.read { db in
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FILTER (WHERE state = 0), COUNT(*) FILTER (WHERE state > 1), COUNT(*),
                            MIN(created_at) FILTER (WHERE state = 0)
                        FROM tasks
                        """)
                func value(_ index: Int) -> Int64? {
                    guard let row, index < row.count else { return nil }
                    return Int64.fromDatabaseValue(row[index] as DatabaseValue)
                }
                func count(_ index: Int) -> Int { Int(clamping: value(index) ?? 0) }
                return TaskStateCounts(
                    queued: count(0), running: count(1), stored: count(2), oldestQueuedAt: value(3).flatMap(Self.date(millis:)))
            }
        }
    }

    func removeExpired(now: Date, retention: TimeInterval) throws(TaskRepositoryError) -> [StoredTask] {
        let nowMillis = Self.millis(now)
        let retentionMillis = Self.millis(Date(timeIntervalSince1970: retention))
        return try perform {
            try pool.write { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        DELETE FROM tasks WHERE NOT \(Self.pendingCondition)
                            AND COALESCE(expires_at, COALESCE(completed_at, created_at) + ?) <= ?
                        RETURNING \(Self.columns)
                        """,
                    arguments: [retentionMillis, nowMillis])
                // A damaged row that expired is gone either way; it has no files to name.
                return rows.compactMap { try? Self.task(from: $0) }
            }
        }
    }

    // MARK: Rows

    private static func fetch(_ db: Database, id: String) throws -> StoredTask? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM tasks WHERE task_id = ?", arguments: [id]).map(task(from:))
    }

    private static func write(_ task: StoredTask, _ db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO tasks (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                task.id, task.owner, task.state.rawValue, task.progress, task.format.rawValue, millis(task.createdAt),
                task.processedAt.map(millis), task.completedAt.map(millis), task.detail, task.resultName,
                task.expiresAt.map(millis), task.attempts,
            ])
    }

    /// Reads a row without trusting it (see the type's comment); columns by position in
    /// ``columns``.
    static func task(from row: Row) throws(TaskRepositoryError) -> StoredTask {
        let id = (try? column(row, 0, String.self)) ?? nil
        let recordID = id ?? "(no id)"
        func optional<T: DatabaseValueConvertible>(_ index: Int, _ type: T.Type) throws(TaskRepositoryError) -> T? {
            do { return try column(row, index, type) } catch {
                throw .corruptRecord(id: recordID, reason: "column \(index + 1) \(error.reason)")
            }
        }
        func required<T: DatabaseValueConvertible>(_ index: Int, _ type: T.Type) throws(TaskRepositoryError) -> T {
            guard let value = try optional(index, type) else {
                throw .corruptRecord(id: recordID, reason: "column \(index + 1) is null")
            }
            return value
        }
        func date(_ index: Int) throws(TaskRepositoryError) -> Date? {
            guard let value = try optional(index, Int64.self) else { return nil }
            guard let date = Self.date(millis: value) else {
                throw .corruptRecord(id: recordID, reason: "column \(index + 1) is not a plausible time")
            }
            return date
        }
        guard let id, !id.isEmpty else { throw .corruptRecord(id: recordID, reason: "no task id") }
        let formatName = try required(4, String.self)
        guard let format = OutputFormat(rawValue: formatName) else {
            throw .corruptRecord(id: id, reason: "unknown format")
        }
        let state = try required(2, Int64.self)
        guard let stateValue = Int32(exactly: state) else { throw .corruptRecord(id: id, reason: "state out of range") }
        let progress = try required(3, Int64.self)
        guard (0...100).contains(progress) else { throw .corruptRecord(id: id, reason: "progress out of range") }
        guard let createdAt = try date(5) else { throw .corruptRecord(id: id, reason: "no creation time") }
        let attempts = try required(11, Int64.self)
        guard (0...maximumAttempts).contains(attempts) else { throw .corruptRecord(id: id, reason: "attempts out of range") }
        return StoredTask(
            id: id, owner: try required(1, String.self), state: TaskState(Int(stateValue)), progress: Int(progress),
            format: format, createdAt: createdAt, processedAt: try date(6), completedAt: try date(7),
            detail: try optional(8, String.self), resultName: try optional(9, String.self), expiresAt: try date(10),
            attempts: Int(attempts))
    }

    private struct ColumnProblem: Error {
        var reason: String
    }

    /// Column `index`, nil for SQL NULL; a value that is not a `T` is a problem.
    private static func column<T: DatabaseValueConvertible>(_ row: Row, _ index: Int, _ type: T.Type) throws(ColumnProblem) -> T? {
        guard index < row.count else { throw ColumnProblem(reason: "is missing") }
        let value: DatabaseValue = row[index]
        if value.isNull { return nil }
        guard let converted = T.fromDatabaseValue(value) else { throw ColumnProblem(reason: "holds a value of the wrong type") }
        return converted
    }

    /// Milliseconds since 1970, clamped to what ``date(millis:)`` accepts back.
    static func millis(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return 0 }
        return Int64(max(-maxMillis, min(maxMillis, value)))
    }

    /// About ±3000 years around 1970: anything beyond is not a time this server wrote.
    private static let maxMillis: Double = 1e14

    static func date(millis: Int64) -> Date? {
        let value = Double(millis)
        guard abs(value) <= maxMillis else { return nil }
        return Date(timeIntervalSince1970: value / 1000)
    }

    // MARK: Errors

    private func perform<T>(_ body: () throws -> T) throws(TaskRepositoryError) -> T {
        do { return try body() } catch let error as TaskRepositoryError { throw error } catch { throw Self.mapped(error) }
    }

    private static func mapped(_ error: any Error) -> TaskRepositoryError {
        if let error = error as? TaskRepositoryError { return error }
        if let error = error as? DatabaseError { return .unavailable("sqlite: \(error.resultCode): \(error.message ?? "")") }
        return .unavailable("\(error)")
    }
}
