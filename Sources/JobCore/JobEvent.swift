public import JobContract
public import OCRTaskAPI

/// What happened when the runner performed a ``JobEffect``: the input of
/// ``JobMachine/handle(_:at:)``.
public enum JobEvent: Sendable {
    /// `.readLedger` answered (nil: the row is gone, which only a wiped ledger does).
    case ledgerRead(JobRecord?)
    /// `.wait` ended.
    case woke
    /// `.create`: the claim was taken, the provider accepted the task and its id is
    /// recorded; `record` is the ledger's `submitted` row. `uploadedBytes`: the source's
    /// bytes the create uploaded (0: passed by URL), which key the task's poll planner.
    case created(record: JobRecord, taskID: String, uploadedBytes: Int64 = 0)
    /// `.create`: the provider refused or failed (after the client's own retries).
    /// `claimed` is the `createAttempts` the claim wrote, when the claim was taken;
    /// `record` is the row read back afterwards, when it could be read.
    case createFailed(ProviderFailure, claimed: Int?, record: JobRecord?)
    /// `.create`: our own side failed (the claim was refused because another driver won
    /// it, or the ledger was down); `record` is the row read back afterwards.
    case createInterrupted(claimed: Int?, record: JobRecord?)
    /// `.poll` answered; `retryAfter`: the successful reply's `Retry-After`, if any.
    case polled(TaskRecord, retryAfter: Duration? = nil)
    /// `.poll` failed.
    case pollFailed(ProviderFailure)
    /// `.rehost` stored the result file.
    case rehosted(JobResult.ResultFile)
    /// `.rehost`: the provider side of the download failed.
    case rehostFailed(ProviderFailure)
    /// `.rehost`: our result store failed (never a job failure).
    case storeFailed
    /// `.settle` stored the result; `record` carries its bytes.
    case settled(JobRecord)
    /// `.settle` was refused: another driver settled (or moved) the job first.
    case settleRefused
    /// `.publish` delivered the result (and the dead letter).
    case sent
    /// `.publish`: the broker refuses the result as larger than it accepts
    /// (`message.max.bytes`); nothing went out.
    case resultTooLarge(bytes: Int)
    /// `.deadLetterStub` delivered the stub.
    case deadLettered
    /// `.markPublished` was written.
    case marked
}
