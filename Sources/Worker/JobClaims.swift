import Synchronization

/// Which job ids this pod is working on right now.
///
/// The same `job_id` can arrive several times at once (a producer retried, a backend
/// published twice). Only the first message drives the job; the others wait here until it
/// reached a checkpoint and then republish the stored result, so one job never runs twice
/// in one pod. Across pods the ledger's transitions decide.
///
/// A wait ends when its task is cancelled (a revoked partition, a shutdown): a duplicate
/// must not hold its record's slot for as long as the first driver's job runs.
final class JobClaims: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var claims: [String: [Waiter]] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Claims `jobID`. Returns true when the caller now owns it; false after waiting for
    /// the owner to release it (the caller then reads the ledger again). Throws
    /// `CancellationError` when the caller is cancelled while it waits.
    func claim(_ jobID: String) async throws -> Bool {
        let waiter = state.withLock { state -> UInt64? in
            if state.claims[jobID] == nil {
                state.claims[jobID] = []
                return nil
            }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let waiter else { return true }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    guard state.claims[jobID] != nil else { return .success(()) }
                    state.claims[jobID]!.append(Waiter(id: waiter, continuation: c))
                    return nil
                }
                if let resume { c.resume(with: resume) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.claims[jobID]?.firstIndex(where: { $0.id == waiter }) else { return nil }
                return state.claims[jobID]!.remove(at: index).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
        return false
    }

    /// How many duplicates wait for `jobID` (for tests and diagnostics).
    func waiters(for jobID: String) -> Int {
        state.withLock { $0.claims[jobID]?.count ?? 0 }
    }

    func release(_ jobID: String) {
        let waiters = state.withLock { $0.claims.removeValue(forKey: jobID) } ?? []
        for w in waiters { w.continuation.resume() }
    }
}
