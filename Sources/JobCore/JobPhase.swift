/// Where one job's life stands, as its driver sees it (docs/architecture.md, "The job
/// state machine").
///
/// Not the ledger's `JobState`: that one is what every pod can see and is written at the
/// checkpoints that matter across crashes (`creating` before a create call, `submitted`
/// with the task id, `completed`/`failed` with the result bytes, `published`). A phase
/// also says what this driver is waiting for in between (polling, rehosting, a foreign
/// create claim), which lives only in memory and is rebuilt from the ledger row after a
/// crash or a rebalance.
public enum JobPhase: String, Sendable, Hashable, CaseIterable {
    /// The ledger row was read; the next step is decided from it.
    case accepted
    /// Another driver holds a live `creating` claim: wait for its task id, or take the
    /// claim over once nobody renews it.
    case awaitingClaim
    /// Inside a create call (claim, create, record the task id).
    case creating
    /// A task is recorded: poll it until it ends.
    case polling
    /// The task succeeded: stream its result file into the result store.
    case rehosting
    /// Storing the result message (success or failure) in the ledger.
    case settling
    /// Sending the stored result (and, for a failure, the dead letter).
    case publishing
    /// Marking the ledger row published.
    case markingPublished
    /// The end: the result (and any dead letter) is out.
    case published
}
