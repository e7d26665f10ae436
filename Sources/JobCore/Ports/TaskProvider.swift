public import JobContract
public import OCRTaskAPI

/// The OCR task API as the job engine uses it: create a task for a job, query it. The
/// real one is the OCR client (request budget, retries, streaming uploads), adapted in
/// `Worker/Adapters`; unit tests use a scripted fake.
public protocol TaskProvider: Sendable {
    /// Creates a task for the job's document: passed by URL, or uploaded by us when
    /// `upload` is set (after the provider could not fetch it) or the source policy says so.
    func createTask(for job: Job, upload: Bool) async throws(ProviderFailure) -> TaskCreation
    /// Queries a task.
    func queryTask(_ taskID: String) async throws(ProviderFailure) -> TaskReply
}

/// A task the provider accepted.
public struct TaskCreation: Sendable, Hashable {
    public var taskID: String
    /// The document's bytes we uploaded (0: passed by URL); they key the task's poll plan.
    public var uploadedBytes: Int64
    /// How the document went to the provider (`url` or `file`), for the log.
    public var sourceMode: String

    public init(taskID: String, uploadedBytes: Int64 = 0, sourceMode: String = "url") {
        self.taskID = taskID
        self.uploadedBytes = uploadedBytes
        self.sourceMode = sourceMode
    }
}

/// A task's state with the reply's `Retry-After`, if it carried one (advice for the poll
/// planner, at most 5 minutes).
public struct TaskReply: Sendable, Hashable {
    public var record: TaskRecord
    public var retryAfter: Duration?

    public init(record: TaskRecord, retryAfter: Duration? = nil) {
        self.record = record
        self.retryAfter = retryAfter
    }
}
