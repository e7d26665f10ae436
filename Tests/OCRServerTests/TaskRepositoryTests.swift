import Foundation
import OCRTaskAPI
import TestSupport
import Testing

@testable import OCRServer

/// The task store's port, against every implementation (PostgreSQL from
/// `OCR_TEST_POSTGRES_URL`, never skipped): the same calls give the same answers; the
/// SQLite file keeps everything across a reopen, is private to its user, and reads a
/// damaged row as an error rather than trapping.
@Suite(.tags(.postgres)) struct TaskRepositoryTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case inMemory, sqlite, postgres
        var testDescription: String { rawValue }
    }

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("task-repo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func make(_ kind: Kind, in directory: URL) async throws -> any TaskRepository {
        switch kind {
        case .inMemory: InMemoryTaskRepository()
        case .sqlite: try SQLiteTaskRepository(path: directory.appendingPathComponent("tasks.sqlite").path)
        case .postgres: try await PostgresStore.open(schema: PostgresStore.freshSchema())
        }
    }

    /// Closes a PostgreSQL repository's connections; nothing for the others.
    static func close(_ repository: any TaskRepository) async {
        await (repository as? any SharedTaskRepository)?.close()
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func task(_ id: String, owner: String = "o1", state: TaskState = .queued, created: Date = t0) -> StoredTask {
        StoredTask(id: id, owner: owner, state: state, progress: 0, format: .pdf, createdAt: created)
    }

    @Test(arguments: Kind.allCases)
    func insertGetUpdateAndCount(_ kind: Kind) async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let repository = try await Self.make(kind, in: directory)
        try await repository.insert(Self.task("a"))
        try await repository.insert(Self.task("b", owner: "o2", created: Self.t0.addingTimeInterval(1)))
        await #expect(throws: TaskRepositoryError.duplicate("a")) { try await repository.insert(Self.task("a")) }
        #expect(try await repository.task(id: "a") == Self.task("a"))
        #expect(try await repository.task(id: "missing") == nil)
        #expect(try await repository.update(id: "missing") { $0.progress = 5 } == nil)
        // A shared store changes only tasks this replica holds: claim "a" (the oldest).
        if let shared = repository as? any SharedTaskRepository {
            #expect(try await repository.update(id: "a") { $0.progress = 5 } == nil, "not held: unchanged")
            #expect(try await shared.claim(lease: 60)?.task.id == "a")
        }

        let changed = try await repository.update(id: "a") {
            $0.state = .processing
            $0.progress = 40
            $0.processedAt = Self.t0.addingTimeInterval(2)
            $0.attempts = 2
        }
        #expect(changed?.before.state == .queued)
        #expect(changed?.after.state == .processing && changed?.after.progress == 40)
        #expect(try await repository.task(id: "a")?.attempts == 2, "attempts are stored")
        #expect(try await repository.pendingTasks().map(\.id) == ["a", "b"])
        #expect(
            try await repository.stateCounts()
                == TaskStateCounts(queued: 1, running: 1, stored: 2, oldestQueuedAt: Self.t0.addingTimeInterval(1)))

        let done = Self.t0.addingTimeInterval(10)
        _ = try await repository.update(id: "a") {
            $0.state = .success
            $0.progress = 100
            $0.completedAt = done
            $0.resultName = "a.pdf"
            $0.expiresAt = done.addingTimeInterval(3600)
            $0.detail = "ünïcode ✓"
        }
        let stored = try #require(try await repository.task(id: "a"))
        #expect(stored.resultName == "a.pdf" && stored.expiresAt == done.addingTimeInterval(3600) && stored.detail == "ünïcode ✓")
        #expect(try await repository.pendingTasks().map(\.id) == ["b"])
        await Self.close(repository)
    }

    /// Finished tasks go once their link expired (or, without one, `retention` after they
    /// ended); pending tasks never do.
    @Test(arguments: Kind.allCases)
    func expiryRemovesOnlyFinishedExpiredTasks(_ kind: Kind) async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let repository = try await Self.make(kind, in: directory)
        var linked = Self.task("linked", state: .success)
        linked.expiresAt = Self.t0.addingTimeInterval(100)
        var unlinked = Self.task("unlinked", state: .failed)
        unlinked.completedAt = Self.t0.addingTimeInterval(50)
        for task in [linked, unlinked, Self.task("queued"), Self.task("running", state: .processing)] {
            try await repository.insert(task)
        }
        #expect(try await repository.removeExpired(now: Self.t0.addingTimeInterval(99), retention: 60).isEmpty)
        #expect(try await repository.removeExpired(now: Self.t0.addingTimeInterval(100), retention: 60).map(\.id) == ["linked"])
        #expect(try await repository.removeExpired(now: Self.t0.addingTimeInterval(110), retention: 60).map(\.id) == ["unlinked"])
        #expect(try await repository.removeExpired(now: Self.t0.addingTimeInterval(1e9), retention: 60).isEmpty)
        #expect(try await repository.stateCounts().stored == 2)
        await Self.close(repository)
    }

    /// Everything written is there after the file is closed and opened again, and the
    /// counters a new store rebuilds from it match.
    @Test func sqliteFileSurvivesAReopen() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        var finished = Self.task("done", state: .success)
        finished.progress = 100
        finished.completedAt = Self.t0.addingTimeInterval(5)
        finished.resultName = "done.pdf"
        finished.expiresAt = Self.t0.addingTimeInterval(3605)
        do {
            let store = try await TaskStore(repository: try await Self.make(.sqlite, in: directory))
            try await store.insert(finished)
            try await store.insert(Self.task("q1", owner: "o1"))
            try await store.insert(Self.task("q2", owner: "o2"))
            try await store.update("q2") { $0.state = .processing }
        }
        let reopened = try await TaskStore(repository: try await Self.make(.sqlite, in: directory))
        #expect(try await reopened.get("done") == finished)
        #expect(try await reopened.get("q2")?.state == .processing)
        #expect(reopened.pendingCount == 2)
        #expect(reopened.pendingCount(owner: "o1") == 1 && reopened.pendingCount(owner: "o2") == 1)
        #expect(try await reopened.reserve(owner: "o1", maxPending: 3, maxPendingPerOwner: 1) == .owner)
    }

    @Test func sqliteFilesArePrivate() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let repository = try await Self.make(.sqlite, in: directory)
        try await repository.insert(Self.task("a"))
        for name in ["tasks.sqlite", "tasks.sqlite-wal", "tasks.sqlite-shm"] {
            let path = directory.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(name) has mode \(String(mode, radix: 8))")
        }
    }

    /// A row written by something else (text where a number belongs, an unknown format, a
    /// time far out of range) is an error naming the task, not a trap; other rows still read,
    /// and the start-up scan of pending tasks leaves the damaged ones out.
    @Test func damagedRowsAreErrors() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tasks.sqlite").path
        let repository = try SQLiteTaskRepository(path: path)
        try repository.insert(Self.task("good"))
        // The sqlite3 command (scripts/setup installs it) writes what this code never would.
        _ = try runBlocking(
            "/usr/bin/sqlite3",
            [
                path,
                """
                INSERT INTO tasks (task_id, owner, state, progress, format, created_at)
                VALUES ('text-state', 'o', 'zero', 0, 'pdf', 0), ('bad-format', 'o', 0, 0, 'exe', 0),
                       ('far-time', 'o', 0, 0, 'pdf', 9000000000000000000), ('bad-progress', 'o', 0, 900, 'txt', 0);
                INSERT INTO tasks (task_id, owner, state, progress, format, created_at, attempts)
                VALUES ('bad-attempts', 'o', 0, 0, 'pdf', 0, -1);
                """,
            ])
        for id in ["text-state", "bad-format", "far-time", "bad-progress", "bad-attempts"] {
            #expect(throws: TaskRepositoryError.self, "\(id)") { try repository.task(id: id) }
        }
        #expect(try repository.task(id: "good") == Self.task("good"))
        #expect(try repository.pendingTasks().map(\.id) == ["good"], "damaged rows never stop a start")
    }
}
