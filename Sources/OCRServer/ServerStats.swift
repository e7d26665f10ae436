import Synchronization

/// Counters served by `/stats` (end-to-end tests count created tasks with them); `/metrics`
/// shows the same numbers (``ServerMetrics``).
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
        var downloadsInProgress = 0
        var downloadsWaiting = 0
        /// Age of the oldest queued task (0 when none is queued).
        var oldestQueuedSeconds = 0.0
        var draining = false

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
            case downloadsInProgress = "downloads_in_progress"
            case downloadsWaiting = "downloads_waiting"
            case oldestQueuedSeconds = "oldest_queued_seconds"
            case draining
        }
    }

    private let counters = Mutex(Snapshot())

    func record(_ change: (inout Snapshot) -> Void) { counters.withLock { change(&$0) } }

    func rejected(_ status: Int) { record { $0.rejectedByStatus[String(status), default: 0] += 1 } }

    var snapshot: Snapshot { counters.withLock { $0 } }
}
