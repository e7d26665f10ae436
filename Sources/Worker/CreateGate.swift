import Synchronization

/// Limits how many create calls a pod has in flight at once.
///
/// Each create in flight is a task the provider may accept while the ledger never hears
/// of it, if the pod dies right then (the one duplicate window, docs/architecture.md). With
/// one permit, a crash orphans at most one task, which is the bound the worker promises;
/// more permits trade that bound for create throughput (long uploads).
///
/// Waiters are served in arrival order. A waiter whose task is cancelled leaves the
/// queue and gets `CancellationError`.
public final class CreateGate: Sendable {
    private struct State {
        var available: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(permits: Int) {
        state = Mutex(State(available: max(1, permits)))
    }

    /// Callers queued for a permit.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Runs `body` holding a permit.
    public func withPermit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let (granted, cancelled) = state.withLock { s -> (Bool, Bool) in
                    if Task.isCancelled { return (false, true) }
                    if s.available > 0, s.waiters.isEmpty {
                        s.available -= 1
                        return (true, false)
                    }
                    s.waiters.append((id, c))
                    return (false, false)
                }
                if granted { c.resume() } else if cancelled { c.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: i).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            guard !s.waiters.isEmpty else {
                s.available += 1
                return nil
            }
            // The permit passes straight to the next waiter.
            return s.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
