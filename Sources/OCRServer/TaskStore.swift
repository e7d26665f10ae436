import Foundation
import Logging
import Synchronization

/// The server's tasks: a ``TaskRepository`` (durable by default) plus the counters that
/// admission uses.
///
/// Admission is O(1) and never scans. With a store of one process, the counts of pending
/// tasks (queued or running), in all and per owner, are kept in memory, rebuilt from the
/// repository when the store opens and updated as tasks are inserted and change state.
/// With a shared store (``SharedTaskRepository``) the counts are rows of the store,
/// changed in the same transactions as the tasks, so limits hold across replicas; the
/// reservation is then a pre-check (the store's counts plus this replica's uploads in
/// progress) and the insert checks again atomically.
///
/// A request reserves its place (``reserve(owner:maxPending:maxPendingPerOwner:)``) before
/// its upload is read, so tasks being uploaded count too and concurrent requests cannot
/// overshoot. Counter changes are deltas, so their order does not matter.
final class TaskStore: Sendable {
    private struct PendingCounters {
        /// Pending tasks plus reservations, in all and per owner (with a shared store:
        /// reservations only).
        var pending = 0
        var pendingByOwner: [String: Int] = [:]

        mutating func adjust(owner: String, by delta: Int) {
            pending += delta
            let count = pendingByOwner[owner, default: 0] + delta
            pendingByOwner[owner] = count > 0 ? count : nil
        }
    }

    /// Why a reservation was refused.
    enum Refusal: Equatable, Sendable {
        /// The server's own limit on pending tasks.
        case server
        /// The key's limit on pending tasks.
        case owner
    }

    let repository: any TaskRepository
    /// The repository, when replicas share it.
    let shared: (any SharedTaskRepository)?
    private let counters = Mutex(PendingCounters())

    /// Opens the store on `repository`, counting the pending tasks it holds (unless it is
    /// shared and counts them itself).
    init(repository: any TaskRepository) async throws(TaskRepositoryError) {
        self.repository = repository
        shared = repository as? any SharedTaskRepository
        guard shared == nil else { return }
        let pending = try await repository.pendingTasks()
        counters.withLock { counters in
            for task in pending { counters.adjust(owner: task.owner, by: 1) }
        }
    }

    /// Takes a pending place for a task of `owner`, unless the server or the key is at its
    /// limit. Every reservation ends in ``insert(_:reserved:maxPending:maxPendingPerOwner:)``
    /// or ``cancelReservation(owner:)``.
    func reserve(owner: String, maxPending: Int, maxPendingPerOwner: Int) async throws(TaskRepositoryError) -> Refusal? {
        var stored = (all: 0, owner: 0)
        if let shared { stored = try await shared.pendingCounts(owner: owner) }
        return counters.withLock { counters in
            if stored.all + counters.pending >= maxPending { return .server }
            if stored.owner + counters.pendingByOwner[owner, default: 0] >= maxPendingPerOwner { return .owner }
            counters.adjust(owner: owner, by: 1)
            return nil
        }
    }

    func cancelReservation(owner: String) { counters.withLock { $0.adjust(owner: owner, by: -1) } }

    /// Stores a new `task`; `reserved` when its pending place was taken by
    /// ``reserve(owner:maxPending:maxPendingPerOwner:)`` (on failure the reservation is
    /// still the caller's to cancel). A shared store checks the limits again in the insert
    /// and may refuse (``TaskRepositoryError/refused(_:)``).
    func insert(_ task: StoredTask, reserved: Bool = false, maxPending: Int = .max, maxPendingPerOwner: Int = .max)
        async throws(TaskRepositoryError)
    {
        if let shared {
            try await shared.insert(task, maxPending: maxPending, maxPendingPerOwner: maxPendingPerOwner)
            if reserved { cancelReservation(owner: task.owner) }
            return
        }
        try await repository.insert(task)
        counters.withLock { counters in
            if task.state.isPending && !reserved { counters.adjust(owner: task.owner, by: 1) }
            if !task.state.isPending && reserved { counters.adjust(owner: task.owner, by: -1) }
        }
    }

    func get(_ id: String) async throws(TaskRepositoryError) -> StoredTask? { try await repository.task(id: id) }

    /// Changes a task; the record after the change, nil when there is no such task (or a
    /// shared store's lease is no longer this replica's).
    @discardableResult
    func update(_ id: String, _ change: @escaping @Sendable (inout StoredTask) -> Void) async throws(TaskRepositoryError) -> StoredTask? {
        guard let (before, after) = try await repository.update(id: id, change) else { return nil }
        if shared == nil, before.state.isPending != after.state.isPending {
            counters.withLock { $0.adjust(owner: after.owner, by: before.state.isPending ? -1 : 1) }
        }
        return after
    }

    /// Tasks not yet finished (and places reserved for tasks being created) this process
    /// counts: all of them with a store of one process, reservations with a shared one.
    var pendingCount: Int { counters.withLock { $0.pending } }

    /// Pending tasks (and reservations) of one key this process counts.
    func pendingCount(owner: String) -> Int { counters.withLock { $0.pendingByOwner[owner, default: 0] } }

    /// Every queued or running task (start-up).
    func pendingTasks() async throws(TaskRepositoryError) -> [StoredTask] { try await repository.pendingTasks() }

    /// For `/stats` (may scan; never on the admission path).
    func counts() async throws(TaskRepositoryError) -> TaskStateCounts { try await repository.stateCounts() }

    /// Removes finished tasks whose links expired; returns them so their files go too.
    func removeExpired(now: Date, retention: TimeInterval) async throws(TaskRepositoryError) -> [StoredTask] {
        try await repository.removeExpired(now: now, retention: retention)
    }
}
