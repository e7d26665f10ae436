import Foundation

/// Where task records live: the storage port of the server. ``SQLiteTaskRepository`` (a
/// file in the data directory) is the default, ``InMemoryTaskRepository`` serves unit
/// tests, ``PostgresTaskRepository`` is the store replicas share (it also implements
/// ``SharedTaskRepository``).
///
/// Every call is atomic on its own. With a store of one process, admission never calls
/// the repository: ``TaskStore`` keeps the pending counters in memory, rebuilt from
/// ``pendingTasks()`` at start-up. A shared store keeps them itself.
protocol TaskRepository: Sendable {
    /// Stores a new task; fails when its id exists.
    func insert(_ task: StoredTask) async throws(TaskRepositoryError)

    /// The task, or nil when there is none.
    func task(id: String) async throws(TaskRepositoryError) -> StoredTask?

    /// Applies `change` to the task in one transaction; the record before and after, or
    /// nil when there is no such task (or, in a shared store, when this replica does not
    /// hold the task's lease: see ``SharedTaskRepository``). `change` must not change the id.
    func update(id: String, _ change: @escaping @Sendable (inout StoredTask) -> Void) async throws(TaskRepositoryError)
        -> (before: StoredTask, after: StoredTask)?

    /// Every queued or running task, oldest first (start-up: counters and re-queueing).
    /// Records that do not read back are left out, so one damaged row cannot stop a start.
    func pendingTasks() async throws(TaskRepositoryError) -> [StoredTask]

    /// Tasks by state, for `/stats` and `/metrics` (may scan; never on the admission path).
    func stateCounts() async throws(TaskRepositoryError) -> TaskStateCounts

    /// Removes finished tasks whose sweep time (``StoredTask/sweepTime(retention:)``) has
    /// come; returns them so their files go too.
    func removeExpired(now: Date, retention: TimeInterval) async throws(TaskRepositoryError) -> [StoredTask]
}

/// Tasks by state, for `/stats` and `/metrics`.
struct TaskStateCounts: Sendable, Equatable {
    var queued = 0
    var running = 0
    var stored = 0
    /// When the oldest queued task was created; nil when none is queued.
    var oldestQueuedAt: Date?
}
