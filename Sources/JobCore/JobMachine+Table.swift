/// The transition table as data: every rule of ``JobMachine/handle(_:at:)`` and of the
/// steps it shares (the top of the loop, re-create, republish), in the order they are
/// applied. docs/architecture.md renders these rows, and a test checks both that the
/// document says exactly this and that the machine does what each row says
/// (Tests/WorkerTests/JobMachineTableTests.swift).
extension JobMachine {
    /// One row: in `phase`, on `event`, when `rule` holds, the machine goes to `next`
    /// (the phase it is in afterwards, then the effect it asks for).
    public struct Transition: Sendable, Hashable {
        public let phase: String
        public let event: String
        public let rule: String
        public let next: String
    }

    public static let transitions: [Transition] = [
        .init(
            phase: "any driving phase", event: "(top of the loop)", rule: "the job's `deadline` passed",
            next: "settling, `settle(failed deadline_exceeded)`"),
        .init(phase: "accepted", event: "start", rule: "ledger row settled", next: "publishing, `publish(stored bytes)` (republish)"),
        .init(
            phase: "accepted", event: "start", rule: "row `submitted` with a task id", next: "polling, `poll` (resume; the task keeps its deadline)"),
        .init(phase: "accepted", event: "start", rule: "row `creating` under a claim that is not ours", next: "awaitingClaim (below)"),
        .init(phase: "accepted", event: "start", rule: "otherwise", next: "creating, `create`"),
        .init(phase: "awaitingClaim", event: "(row read)", rule: "row `submitted` with a task id", next: "polling, `poll` that task"),
        .init(phase: "awaitingClaim", event: "(row read)", rule: "row settled", next: "publishing (republish)"),
        .init(
            phase: "awaitingClaim", event: "(row read)", rule: "row `creating`, claim renewed within the claim timeout (by the ledger's clock)",
            next: "awaitingClaim, `wait(first)` then `readLedger`"),
        .init(
            phase: "awaitingClaim", event: "(row read)", rule: "row `creating`, claim older than the claim timeout (by the ledger's clock)",
            next: "creating, `create` (taken over, counted)"),
        .init(phase: "creating", event: "created", rule: "", next: "polling, `wait(first)` then `poll`"),
        .init(phase: "creating", event: "createFailed", rule: "permanent (400, 413, ...)", next: "settling, failed `provider_rejected`"),
        .init(
            phase: "creating", event: "createFailed", rule: "our download of the source refused (forbidden address)",
            next: "settling, failed `source_unreachable`"),
        .init(phase: "creating", event: "createFailed", rule: "-3 / source fetch failure, no upload tried yet", next: "creating, `create(upload)`"),
        .init(phase: "creating", event: "createFailed", rule: "-3 after our own upload", next: "settling, failed `source_unreachable`"),
        .init(phase: "creating", event: "createFailed", rule: "transient, 401, circuit open", next: "creating, `wait(cap)` then `create`"),
        .init(phase: "creating", event: "createInterrupted", rule: "row `submitted` meanwhile", next: "polling, `wait(first)` then `poll`"),
        .init(
            phase: "creating", event: "createInterrupted", rule: "otherwise (claim lost, ledger down)",
            next: "awaitingClaim, `wait(retry delay)` then `readLedger`"),
        .init(phase: "polling", event: "(before a poll)", rule: "task older than the task timeout", next: "recreate"),
        .init(
            phase: "polling", event: "polled", rule: "state 0, 2, 3, 4 (pending)",
            next: "polling, `wait(rules.pollPlanner's delay; without one, backoff by polls and progress; at least the reply's Retry-After)`"),
        .init(phase: "polling", event: "polled", rule: "state 1 with a file", next: "rehosting, `rehost` (pass-through: settling, success)"),
        .init(phase: "polling", event: "polled", rule: "state 1 without a file", next: "recreate"),
        .init(phase: "polling", event: "polled", rule: "state -1, -2, -8", next: "recreate"),
        .init(phase: "polling", event: "polled", rule: "state -3, no upload tried yet", next: "creating, `create(upload)` (not a re-create)"),
        .init(phase: "polling", event: "polled", rule: "state -3 after our own upload", next: "settling, failed `source_unreachable`"),
        .init(phase: "polling", event: "polled", rule: "state -5, -7, unknown negative", next: "settling, failed `provider_rejected`"),
        .init(phase: "polling", event: "pollFailed", rule: "404 (task lost)", next: "recreate"),
        .init(phase: "polling", event: "pollFailed", rule: "permanent", next: "settling, failed `provider_rejected`"),
        .init(phase: "polling", event: "pollFailed", rule: "transient, 401, circuit open", next: "polling, `wait(first)` then `poll`"),
        .init(phase: "rehosting", event: "rehosted", rule: "", next: "settling, success"),
        .init(phase: "rehosting", event: "rehostFailed", rule: "URL expired, refetches left", next: "polling, `poll` (fresh URL)"),
        .init(phase: "rehosting", event: "rehostFailed", rule: "URL expired, no refetches left", next: "recreate"),
        .init(phase: "rehosting", event: "rehostFailed", rule: "transient", next: "polling, `wait(first)` then `poll`"),
        .init(phase: "rehosting", event: "rehostFailed", rule: "anything else", next: "settling, failed `rehost_failed`"),
        .init(phase: "rehosting", event: "storeFailed", rule: "our store is down", next: "polling, `wait(cap)` then `poll` (never fails the job)"),
        .init(phase: "(recreate)", event: "", rule: "re-creates left", next: "creating, `create`"),
        .init(phase: "(recreate)", event: "", rule: "none left", next: "settling, failed (`provider_failed` or `rehost_failed`)"),
        .init(phase: "settling", event: "settled", rule: "", next: "publishing, `publish` (a failure: with its dead letter)"),
        .init(phase: "settling", event: "settleRefused", rule: "row settled by another driver", next: "publishing (republish theirs)"),
        .init(phase: "settling", event: "settleRefused", rule: "row not settled", next: "published, `finish(redrive)`"),
        .init(phase: "publishing", event: "sent", rule: "row `completed`, or `failed` never published", next: "markingPublished, `markPublished`"),
        .init(phase: "publishing", event: "sent", rule: "otherwise", next: "published, `finish`"),
        .init(phase: "publishing", event: "resultTooLarge", rule: "", next: "publishing, `deadLetterStub(internal result_too_large)`"),
        .init(
            phase: "publishing", event: "deadLettered", rule: "row `completed`, or `failed` never published",
            next: "markingPublished, `markPublished`"),
        .init(phase: "publishing", event: "deadLettered", rule: "otherwise", next: "published, `finish`"),
        .init(phase: "markingPublished", event: "marked", rule: "", next: "published, `finish`"),
    ]
}
