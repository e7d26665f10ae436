public import JobContract

/// The rules for what happens around a job's life: records that break the contract, and
/// failures no row of the table covers. Pure like the table; the runner performs them.
extension JobMachine {
    // MARK: Records that break the job contract

    /// The first step for a rejected record.
    public enum Rejection: Sendable, Hashable {
        /// Over the size caps: a stub dead letter only. Copying such a record to the
        /// dead-letter topic may not even fit the broker, and its job id is not read.
        case deadLetterStub
        /// No job id: a dead letter only (nothing to key a result by).
        case deadLetterOnly
        /// A job id: accept its ledger row under the record's own fingerprint
        /// (``rejectedFingerprint(_:)``), then ``afterAcceptingRejected(_:isNew:fingerprint:)``.
        case acceptRow(jobID: String)
    }

    public static func rejection(_ rejection: JobRejection) -> Rejection {
        if rejection.code == .recordTooLarge { return .deadLetterStub }
        guard let jobID = rejection.jobID else { return .deadLetterOnly }
        return .acceptRow(jobID: jobID)
    }

    /// The fingerprint a rejected record's row carries: `invalid:` and the digest of its
    /// value, so two deliveries of the same bad record are one job, and a valid payload
    /// that reuses the id is told apart (``opening(record:isNew:fingerprint:isReplay:)``
    /// never defers to it).
    public static func rejectedFingerprint(_ valueSHA256Hex: String) -> String { "invalid:" + valueSHA256Hex }

    /// What a rejected record with a job id does once its row is accepted.
    public enum RejectedRow: Sendable, Hashable {
        /// Store the failed result, publish it with the dead letter, mark it published:
        /// the row is new, or this same record's row was left `accepted` by a crash.
        case storeAndPublish
        /// This same record was rejected before and settled: publish the stored result
        /// again (and its dead letter when that may not have gone out).
        case republish
        /// The id belongs to another payload, which keeps its own result: a dead letter only.
        case deadLetterOnly
    }

    public static func afterAcceptingRejected(_ record: JobRecord, isNew: Bool, fingerprint: String) -> RejectedRow {
        if isNew || (record.fingerprint == fingerprint && record.state == .accepted) { return .storeAndPublish }
        if record.fingerprint == fingerprint, record.state.isSettled { return .republish }
        return .deadLetterOnly
    }

    // MARK: Failures no row covers

    /// What the runner does when a delivery's drive fails in a way no row of the table
    /// covers (a runner defect, a ledger row no transition allows, a send that can never
    /// succeed).
    public enum AfterFailure: Sendable, Hashable {
        /// Drive the job again from its ledger row after this delay.
        case driveAgain(after: Duration)
        /// Dead-letter the record as `internal` with this failure: retrying cannot help, or
        /// it did not; holding the partition's commits forever is worse.
        case deadLetter(JobFailure)
    }

    /// Tries of a delivery before an unexplained failure dead-letters it.
    public static let maxUnexplainedTries = 5

    /// `tries`: failed tries so far, this one included. `permanent`: our own dependency
    /// said the send can never succeed (a topic we may not write, a record the broker will
    /// never take); dead-lettered at once.
    public static func afterFailure(_ description: String, tries: Int, permanent: Bool, rules: Rules) -> AfterFailure {
        if permanent || tries >= maxUnexplainedTries {
            return .deadLetter(JobFailure(.internal, code: "internal", message: description, taskID: nil))
        }
        return .driveAgain(after: rules.dependencyRetryDelay * tries)
    }
}
