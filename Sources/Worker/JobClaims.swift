import Synchronization

/// Which job ids this pod is working on right now.
///
/// The same `job_id` can arrive several times at once (a producer retried, a backend
/// published twice). Only the first message drives the job; the others wait here until it
/// reached a checkpoint and then republish the stored result, so one job never runs twice
/// in one pod. Across pods the ledger's transitions decide.
final class JobClaims: Sendable {
    private let state = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    /// Claims `jobID`. Returns true when the caller now owns it; false after waiting for
    /// the owner to release it (the caller then reads the ledger again).
    func claim(_ jobID: String) async -> Bool {
        let owned = state.withLock { claims -> Bool in
            if claims[jobID] == nil {
                claims[jobID] = []
                return true
            }
            return false
        }
        if owned { return true }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { claims -> Bool in
                guard claims[jobID] != nil else { return true }
                claims[jobID]!.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
        return false
    }

    func release(_ jobID: String) {
        let waiters = state.withLock { $0.removeValue(forKey: jobID) } ?? []
        for w in waiters { w.resume() }
    }
}
