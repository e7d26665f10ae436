public import JobContract
public import OCRTaskAPI

/// The OCR task API as the job engine uses it: create a task for a job, query it. The
/// real one is the OCR client (request budget, retries, streaming uploads), adapted in
/// `Worker/Adapters`; unit tests use a scripted fake.
public protocol TaskProvider: Sendable {
    /// Fetches the job's document when its create will upload it (`upload` set after the
    /// provider could not fetch it, or the source policy says so), before the create: the
    /// create then holds its permit and claim only for sending a local file. Nil when the
    /// document goes by URL. The caller removes the copy after the create, whatever its
    /// outcome (``discard(_:)``).
    func fetchSource(for job: Job, upload: Bool) async throws(ProviderFailure) -> SourceFetch?
    /// Creates a task for the job's document: the fetched copy when there is one, else
    /// passed by URL or (a provider that fetches nothing ahead) uploaded as it downloads.
    func createTask(for job: Job, upload: Bool, fetched: SourceFetch?) async throws(ProviderFailure) -> TaskCreation
    /// Removes a fetched copy.
    func discard(_ fetched: SourceFetch)
    /// Queries a task.
    func queryTask(_ taskID: String) async throws(ProviderFailure) -> TaskReply
}

/// A local copy of a job's document, fetched ahead of its create
/// (``TaskProvider/fetchSource(for:upload:)``).
public struct SourceFetch: Sendable, Hashable {
    /// Where the copy is (the adapter's business).
    public var location: String
    public var bytes: Int64
    /// The name and media type the upload carries.
    public var filename: String
    public var contentType: String

    public init(location: String, bytes: Int64, filename: String, contentType: String) {
        self.location = location
        self.bytes = bytes
        self.filename = filename
        self.contentType = contentType
    }
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
