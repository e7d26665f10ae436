import Foundation
import Synchronization

/// Running task processors, so shutdown can wait for them and then cancel the rest.
final class TaskTracker: Sendable {
    private let tasks = Mutex<[String: Task<Void, Never>]>([:])

    func start(id: String, _ operation: @escaping @Sendable () async -> Void) {
        tasks.withLock { tasks in
            tasks[id] = Task {
                await operation()
                self.finished(id)
            }
        }
    }

    private func finished(_ id: String) { _ = tasks.withLock { $0.removeValue(forKey: id) } }

    var count: Int { tasks.withLock { $0.count } }

    /// The ids of the tasks running now.
    var ids: [String] { tasks.withLock { Array($0.keys) } }

    func contains(_ id: String) -> Bool { tasks.withLock { $0[id] != nil } }

    /// Cancels one running task (its lease was taken over).
    func cancel(id: String) { tasks.withLock { $0[id] }?.cancel() }

    /// Waits up to `timeout` for running tasks, then cancels what is left and waits for it
    /// to unwind.
    func drain(timeout: TimeInterval) async {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while count > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
        let remaining = tasks.withLock { Array($0.values) }
        for task in remaining { task.cancel() }
        for task in remaining { await task.value }
    }
}
