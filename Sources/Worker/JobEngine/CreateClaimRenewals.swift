import Foundation
import JobCore
import Ledger
import Logging
import Synchronization

/// Keeps alive the create claims this pod holds while their creates run: one loop for all
/// of them, not a task and a timer per create.
///
/// Why renew: a claim (`creating`) whose `updated_at` is older than the claim timeout
/// looks like a crashed pod's, and another driver takes the job over and creates a second
/// task. Most creates are over in milliseconds, but an upload can take minutes.
///
/// Why one loop: a renewal task per create cost a task start, a timer and its
/// cancellation for every job, nearly always for nothing. Here every claim held at a tick
/// is renewed, and the loop runs only while claims are held (it ends at the first tick
/// that finds none, and the next ``hold(jobID:createAttempts:)`` starts it again). A
/// claim is renewed at most `every` after it is taken, as with a task per claim, so
/// `every` must stay well below the claim timeout (the runner uses a third of it).
final class CreateClaimRenewals: Sendable {
    private struct State {
        /// Job id to the `createAttempts` its claim was taken with.
        var held: [String: Int] = [:]
        var looping = false
    }

    private let state = Mutex(State())
    private let every: Duration
    private let ledger: any JobLedger
    private let clock: any Clock<Duration>
    private let logger: Logger

    init(every: Duration, ledger: any JobLedger, clock: any Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.every = every
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
    }

    /// Whether the loop is running (for tests).
    var isLooping: Bool { state.withLock { $0.looping } }

    /// Renews the claim `jobID` holds with `createAttempts` until ``release(jobID:)``.
    func hold(jobID: String, createAttempts: Int) {
        let start = state.withLock { s -> Bool in
            s.held[jobID] = createAttempts
            if s.looping { return false }
            s.looping = true
            return true
        }
        if start { Task { await self.loop() } }
    }

    func release(jobID: String) {
        state.withLock { _ = $0.held.removeValue(forKey: jobID) }
    }

    private func loop() async {
        while true {
            // Never cancelled: it ends by itself once no claim is held.
            try? await clock.sleep(for: every)
            let due = state.withLock { s -> [(jobID: String, createAttempts: Int)]? in
                if s.held.isEmpty {
                    s.looping = false
                    return nil
                }
                return s.held.map { ($0.key, $0.value) }
            }
            guard let due else { return }
            // Concurrently, so the ledger can write them in one batch.
            await withTaskGroup(of: Void.self) { group in
                for claim in due {
                    group.addTask { await self.renew(claim.jobID, claim.createAttempts) }
                }
            }
        }
    }

    private func renew(_ jobID: String, _ createAttempts: Int) async {
        do {
            try await ledger.renewCreateClaim(jobID: jobID, createAttempts: createAttempts, at: Date())
        } catch let error as LedgerError where error.code == .invalidTransition {
            // The task id is recorded, or a newer claim replaced this one: nothing to keep.
            state.withLock { s in
                if s.held[jobID] == createAttempts { s.held[jobID] = nil }
            }
        } catch {
            logger.warning("could not renew the create claim; trying again", metadata: ["job_id": "\(jobID)", "error": "\(error)"])
        }
    }
}
