import Foundation
import Logging
import Synchronization

/// The server's tasks: a ``TaskRepository`` (durable by default) plus the counters that
/// admission uses.
///
/// Admission is O(1) and never reads the repository: the store keeps counts of pending
/// tasks (queued or running), in all and per owner, in memory, rebuilt from the
/// repository when the store opens and updated as tasks are inserted and change state; a
/// request reserves its place (``reserve(owner:maxPending:maxPendingPerOwner:)``) before
/// its upload is read, so tasks being uploaded count too and concurrent requests cannot
/// overshoot. Counter changes are deltas, so their order does not matter.
final class TaskStore: Sendable {
    private struct PendingCounters {
        /// Pending tasks plus reservations, in all and per owner.
        var pending = 0
        var pendingByOwner: [String: Int] = [:]

        mutating func adjust(owner: String, by delta: Int) {
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

    let repository: any TaskRepository
    private let counters = Mutex(PendingCounters())

    /// Opens the store on `repository`, counting the pending tasks it holds.
    init(repository: any TaskRepository) throws(TaskRepositoryError) {
        self.repository = repository
        let pending = try repository.pendingTasks()
        counters.withLock { counters in
            for task in pending { counters.adjust(owner: task.owner, by: 1) }
        }
    }

    /// Takes a pending place for a task of `owner`, unless the server or the key is at its
    /// limit. Every reservation ends in ``insert(_:reserved:)`` or ``cancelReservation(owner:)``.
    func reserve(owner: String, maxPending: Int, maxPendingPerOwner: Int) -> Refusal? {
        counters.withLock { counters in
            if counters.pending >= maxPending { return .server }
            if counters.pendingByOwner[owner, default: 0] >= maxPendingPerOwner { return .owner }
            counters.adjust(owner: owner, by: 1)
            return nil
        }
    }

    func cancelReservation(owner: String) { counters.withLock { $0.adjust(owner: owner, by: -1) } }

    /// Stores a new `task`; `reserved` when its pending place was taken by
    /// ``reserve(owner:maxPending:maxPendingPerOwner:)`` (on failure the reservation is
    /// still the caller's to cancel).
    func insert(_ task: StoredTask, reserved: Bool = false) throws(TaskRepositoryError) {
        try repository.insert(task)
        counters.withLock { counters in
            if task.state.isPending && !reserved { counters.adjust(owner: task.owner, by: 1) }
            if !task.state.isPending && reserved { counters.adjust(owner: task.owner, by: -1) }
        }
    }

    func get(_ id: String) throws(TaskRepositoryError) -> StoredTask? { try repository.task(id: id) }

    /// Changes a task; the record after the change, nil when there is no such task.
    @discardableResult
    func update(_ id: String, _ change: (inout StoredTask) -> Void) throws(TaskRepositoryError) -> StoredTask? {
        guard let (before, after) = try repository.update(id: id, change) else { return nil }
        if before.state.isPending != after.state.isPending {
            counters.withLock { $0.adjust(owner: after.owner, by: before.state.isPending ? -1 : 1) }
        }
        return after
    }

    /// Tasks not yet finished (and places reserved for tasks being created).
    var pendingCount: Int { counters.withLock { $0.pending } }

    /// Pending tasks (and reservations) of one key.
    func pendingCount(owner: String) -> Int { counters.withLock { $0.pendingByOwner[owner, default: 0] } }

    /// Every queued or running task (start-up).
    func pendingTasks() throws(TaskRepositoryError) -> [StoredTask] { try repository.pendingTasks() }

    /// For `/stats` (may scan; never on the admission path).
    func counts() throws(TaskRepositoryError) -> TaskStateCounts { try repository.stateCounts() }

    /// Removes finished tasks whose links expired; returns them so their files go too.
    func removeExpired(now: Date, retention: TimeInterval) throws(TaskRepositoryError) -> [StoredTask] {
        try repository.removeExpired(now: now, retention: retention)
    }
}
