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
///
/// Admission is O(1): the store keeps counts of pending tasks (queued or running), in all
/// and per key, updated as tasks are inserted and change state, and a request reserves
/// its place (``reserve(owner:maxPending:maxPendingPerOwner:)``) before its upload is
/// read, so tasks being uploaded count too and concurrent requests cannot overshoot.
final class TaskStore: Sendable {
    private struct State {
        var tasks: [String: StoredTask] = [:]
        /// Pending tasks plus reservations, in all and per key index.
        var pending = 0
        var pendingByOwner: [Int: Int] = [:]

        mutating func adjust(owner: Int, by delta: Int) {
            pending += delta
            let count = pendingByOwner[owner, default: 0] + delta
            pendingByOwner[owner] = count > 0 ? count : nil
        }
    }

    /// Why a reservation was refused.
    enum Refusal: Equatable {
        /// The server's own limit on pending tasks.
        case server
        /// The key's limit on pending tasks.
        case owner
    }

    private let state = Mutex(State())

    /// Takes a pending place for a task of `owner`, unless the server or the key is at its
    /// limit. Every reservation ends in ``insert(_:reserved:)`` or ``cancelReservation(owner:)``.
    func reserve(owner: Int, maxPending: Int, maxPendingPerOwner: Int) -> Refusal? {
        state.withLock { state in
            if state.pending >= maxPending { return .server }
            if state.pendingByOwner[owner, default: 0] >= maxPendingPerOwner { return .owner }
            state.adjust(owner: owner, by: 1)
            return nil
        }
    }

    func cancelReservation(owner: Int) { state.withLock { $0.adjust(owner: owner, by: -1) } }

    /// Stores `task`; `reserved` when its pending place was taken by ``reserve(owner:maxPending:maxPendingPerOwner:)``.
    func insert(_ task: StoredTask, reserved: Bool = false) {
        state.withLock { state in
            if let old = state.tasks[task.id], old.state.isPending { state.adjust(owner: old.owner, by: -1) }
            if task.state.isPending && !reserved { state.adjust(owner: task.owner, by: 1) }
            if !task.state.isPending && reserved { state.adjust(owner: task.owner, by: -1) }
            state.tasks[task.id] = task
        }
    }

    func get(_ id: String) -> StoredTask? { state.withLock { $0.tasks[id] } }

    func update(_ id: String, _ change: (inout StoredTask) -> Void) {
        state.withLock { state in
            guard var task = state.tasks[id] else { return }
            let wasPending = task.state.isPending
            change(&task)
            if wasPending != task.state.isPending { state.adjust(owner: task.owner, by: wasPending ? -1 : 1) }
            state.tasks[id] = task
        }
    }

    /// Tasks not yet finished (and places reserved for tasks being created).
    var pendingCount: Int { state.withLock { $0.pending } }

    /// Pending tasks (and reservations) of one key.
    func pendingCount(owner: Int) -> Int { state.withLock { $0.pendingByOwner[owner, default: 0] } }

    /// For `/stats` (a scan; never on the admission path).
    func counts() -> (queued: Int, running: Int, stored: Int) {
        state.withLock { state in
            (
                state.tasks.values.count { $0.state == .queued }, state.tasks.values.count { $0.state.isRunning },
                state.tasks.count
            )
        }
    }

    /// Removes finished tasks whose links expired; returns them so their files go too.
    func removeExpired(now: Date, retention: TimeInterval) -> [StoredTask] {
        state.withLock { state in
            let expired = state.tasks.values.filter { task in
                guard task.state.isTerminal else { return false }
                let end = task.expiresAt ?? (task.completedAt ?? task.createdAt).addingTimeInterval(retention)
                return end <= now
            }
            for task in expired { state.tasks[task.id] = nil }
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
        var uploadsInProgress = 0

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
            case uploadsInProgress = "uploads_in_progress"
        }
    }

    private let counters = Mutex(Snapshot())

    func record(_ change: (inout Snapshot) -> Void) { counters.withLock { change(&$0) } }

    func rejected(_ status: Int) { record { $0.rejectedByStatus[String(status), default: 0] += 1 } }

    var snapshot: Snapshot { counters.withLock { $0 } }
}
