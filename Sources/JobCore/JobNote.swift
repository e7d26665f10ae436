public import Foundation
public import PollPlanning

/// Something a transition wants counted or logged. The machine stays pure: it returns
/// notes with its effect, and the runner turns them into metrics and log lines.
public enum JobNote: Sendable, Hashable {
    /// A recorded task is polled again after a restart or a rebalance.
    case resumed(taskID: String)
    /// Another driver's live create claim is being waited for (first time only).
    case claimAwaited
    /// A claim nobody renewed for the claim timeout was taken over: the provider may hold
    /// a second task for the job (the one duplicate window).
    case claimTakenOver(age: TimeInterval, createAttempts: Int)
    /// The other driver recorded its task; this driver polls it.
    case claimHandedOver(taskID: String)
    /// The provider could not fetch the document: the next create uploads it.
    case uploadingInstead
    /// A new task replaces the current one.
    case recreating(reason: String, count: Int)
    /// The task reached a final state after `seconds` (from its create, or its
    /// provider-side `created_at` when resumed).
    case taskEnded(seconds: Double, state: Int)
    /// A task was found done: its timing, for the duration model that plans polls.
    case taskTimed(CompletedTaskTiming)
    /// The poll planner placed the next poll by this rule (counted per rule).
    case pollPlanned(PollDecision.Basis)
    /// The result store failed while rehosting: fetched again later.
    case resultStoreFailed
    /// Two payloads share a job id: the first one wins.
    case otherPayload(firstFingerprint: String)
    /// The broker refuses the job's result as too large: a stub dead letter goes instead.
    case resultTooLarge(bytes: Int)
    /// A settled row carried no result bytes: nothing to republish.
    case settledWithoutResult
    /// An event the phase does not expect (a runner defect): the job is driven again.
    case unexpected(event: String, phase: JobPhase)
}
