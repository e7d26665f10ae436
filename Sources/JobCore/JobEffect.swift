import Foundation
public import JobContract
public import OCRTaskAPI

/// What the runner must do next for a job: the output of ``JobMachine``. Each effect is
/// answered by one ``JobEvent`` (listed per case), except ``finish(_:)``, which ends the
/// job's driver.
public enum JobEffect: Sendable, Equatable {
    /// Read the job's ledger row. -> `.ledgerRead`
    case readLedger
    /// Sleep on the shared poll scheduler until `until`. -> `.woke`
    case wait(until: ContinuousClock.Instant)
    /// Claim the create (compare-and-set on `expectedCreateAttempts`), create the task
    /// (uploading the document ourselves when `upload`), and record its id. Runs
    /// shielded from cancellation, renewing the claim, one per pod at a time.
    /// -> `.created`, `.createFailed` or `.createInterrupted`
    case create(expectedCreateAttempts: Int, upload: Bool)
    /// Query the task. -> `.polled` or `.pollFailed`
    case poll(taskID: String)
    /// Stream the result file into the result store. -> `.rehosted`, `.rehostFailed`,
    /// `.storeFailed`
    case rehost(taskID: String, fileURL: String)
    /// Build the result message and store it in the ledger (`complete` or `fail`), first
    /// adding `pollsToRecord` to the row's poll count. -> `.settled` or `.settleRefused`
    case settle(JobSettlement, pollsToRecord: Int)
    /// Send the stored result bytes; `deadLetter` set: dead-letter the record too.
    /// -> `.sent`
    case publish(JobRecord, deadLetter: JobFailure?)
    /// Dead-letter the record as a stub: the reason and the original sizes, without its
    /// value (the record or its result cannot go out whole). -> `.deadLettered`
    case deadLetterStub(JobFailure, reason: String, record: JobRecord)
    /// Mark the row published. -> `.marked`
    case markPublished
    /// The driver is done.
    case finish(JobEnding)
}

/// Why a job failed: the `error` of its failed result and the reason in its dead letter.
public struct JobFailure: Sendable, Hashable {
    public var errorClass: ErrorClass
    public var code: String
    public var message: String
    public var taskID: String?

    public init(_ errorClass: ErrorClass, code: String, message: String, taskID: String?) {
        self.errorClass = errorClass
        self.code = code
        self.message = message
        self.taskID = taskID
    }
}

/// The result the runner builds and stores.
public enum JobSettlement: Sendable, Hashable {
    case succeeded(task: TaskRecord, file: JobResult.ResultFile, attempts: JobResult.Attempts)
    case failed(JobFailure, task: TaskRecord?, attempts: JobResult.Attempts)
}

/// How a driver ended, for metrics and logs.
public enum JobEnding: Sendable, Hashable {
    case succeeded
    case failed(ErrorClass)
    /// A settled job's stored result went out again (redelivery, duplicate, takeover).
    case republished
    /// Another payload owns the job id and drives it; this delivery does nothing.
    case deferredToFirstPayload
    /// The job moved on under another driver but is not settled yet: drive it again.
    case redrive
}
