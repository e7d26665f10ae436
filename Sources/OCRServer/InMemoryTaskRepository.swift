import Foundation
import Synchronization

/// Task records in memory, behind a lock: for unit tests and `--task-db :memory:` (a
/// restart forgets every task).
final class InMemoryTaskRepository: TaskRepository {
    private let tasks = Mutex<[String: StoredTask]>([:])

    init() {}

    func insert(_ task: StoredTask) throws(TaskRepositoryError) {
        let inserted = tasks.withLock { tasks in
            guard tasks[task.id] == nil else { return false }
            tasks[task.id] = task
            return true
        }
        if !inserted { throw .duplicate(task.id) }
    }

    func task(id: String) -> StoredTask? { tasks.withLock { $0[id] } }

    func update(id: String, _ change: @escaping @Sendable (inout StoredTask) -> Void) -> (before: StoredTask, after: StoredTask)? {
        tasks.withLock { tasks in
            guard let before = tasks[id] else { return nil }
            var after = before
            change(&after)
            after.id = id
            tasks[id] = after
            return (before, after)
        }
    }

    func pendingTasks() -> [StoredTask] {
        tasks.withLock { $0.values.filter { $0.state.isPending } }.sorted { $0.createdAt < $1.createdAt }
    }

    func stateCounts() -> TaskStateCounts {
        tasks.withLock { tasks in
            TaskStateCounts(
                queued: tasks.values.count { $0.state == .queued }, running: tasks.values.count { $0.state.isRunning },
                stored: tasks.count, oldestQueuedAt: tasks.values.filter { $0.state == .queued }.map(\.createdAt).min())
        }
    }

    func removeExpired(now: Date, retention: TimeInterval) -> [StoredTask] {
        tasks.withLock { tasks in
            let expired = tasks.values.filter { $0.state.isTerminal && $0.sweepTime(retention: retention) <= now }
            for task in expired { tasks[task.id] = nil }
            return expired
        }
    }
}
