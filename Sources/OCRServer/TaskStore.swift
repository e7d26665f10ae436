import Foundation
import OCRTaskAPI
import Synchronization

/// A task as the server keeps it (in memory: a restart forgets tasks, and callers
/// re-create on 404, as they must for PicWish's expired tasks).
struct StoredTask: Sendable {
    var id: String
    /// Index of the API key that created it; other keys get 404.
    var owner: Int
    var state: TaskState
    var progress: Int
    var format: OutputFormat
    var createdAt: Date
    var processedAt: Date?
    var completedAt: Date?
    var detail: String?
    /// Name of the result under `results/` once done.
    var resultName: String?
    /// When the result link expires and the task is swept.
    var expiresAt: Date?

    func record(link: (String, Date) -> String?) -> TaskRecord {
        TaskRecord(
            taskID: id, state: state, progress: progress,
            file: resultName.flatMap { name in expiresAt.flatMap { link(name, $0) } },
            createdAt: UnixTimestamp(createdAt), processedAt: processedAt.map(UnixTimestamp.init),
            completedAt: completedAt.map(UnixTimestamp.init), stateDetail: detail)
    }
}

/// All tasks, behind a lock: updated from request handlers, task runners and engine
/// threads alike.
final class TaskStore: Sendable {
    private let tasks = Mutex<[String: StoredTask]>([:])

    func insert(_ task: StoredTask) { tasks.withLock { $0[task.id] = task } }

    func get(_ id: String) -> StoredTask? { tasks.withLock { $0[id] } }

    func update(_ id: String, _ change: (inout StoredTask) -> Void) {
        tasks.withLock { tasks in
            guard var task = tasks[id] else { return }
            change(&task)
            tasks[id] = task
        }
    }

    /// Tasks not yet finished.
    var pendingCount: Int { tasks.withLock { $0.values.count { $0.state.isPending } } }

    func counts() -> (queued: Int, running: Int, stored: Int) {
        tasks.withLock { tasks in
            (
                tasks.values.count { $0.state == .queued }, tasks.values.count { $0.state.isRunning },
                tasks.count
            )
        }
    }

    /// Removes finished tasks whose links expired; returns them so their files go too.
    func removeExpired(now: Date, retention: TimeInterval) -> [StoredTask] {
        tasks.withLock { tasks in
            let expired = tasks.values.filter { task in
                guard task.state.isTerminal else { return false }
                let end = task.expiresAt ?? (task.completedAt ?? task.createdAt).addingTimeInterval(retention)
                return end <= now
            }
            for task in expired { tasks[task.id] = nil }
            return expired
        }
    }
}

/// Counters served by `/stats` (end-to-end tests count created tasks with them).
final class ServerStats: Sendable {
    struct Snapshot: Codable, Sendable {
        var tasksCreated = 0
        var tasksSucceeded = 0
        var tasksFailed = 0
        var failuresByState: [String: Int] = [:]
        var pagesProcessed = 0
        var rejectedByStatus: [String: Int] = [:]
        var resultDownloads = 0
        var tasksSwept = 0
        var tasksQueued = 0
        var tasksRunning = 0
        var tasksStored = 0
        var workers = 0
        var enginesBusy = 0

        enum CodingKeys: String, CodingKey {
            case tasksCreated = "tasks_created"
            case tasksSucceeded = "tasks_succeeded"
            case tasksFailed = "tasks_failed"
            case failuresByState = "failures_by_state"
            case pagesProcessed = "pages_processed"
            case rejectedByStatus = "rejected_by_status"
            case resultDownloads = "result_downloads"
            case tasksSwept = "tasks_swept"
            case tasksQueued = "tasks_queued"
            case tasksRunning = "tasks_running"
            case tasksStored = "tasks_stored"
            case workers
            case enginesBusy = "engines_busy"
        }
    }

    private let counters = Mutex(Snapshot())

    func record(_ change: (inout Snapshot) -> Void) { counters.withLock { change(&$0) } }

    func rejected(_ status: Int) { record { $0.rejectedByStatus[String(status), default: 0] += 1 } }

    var snapshot: Snapshot { counters.withLock { $0 } }
}
