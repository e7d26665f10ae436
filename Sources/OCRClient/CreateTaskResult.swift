/// The outcome of a successful ``OCRClient/createTask(source:options:)``.
public struct CreateTaskResult: Sendable, Hashable {
    /// The provider's task id: record it before anything else.
    public var taskID: String
    public var sourceMode: SourceMode
    /// Requests sent, retries included.
    public var attempts: Int
    /// Bytes of the document sent (0 when passed by URL).
    public var uploadedBytes: Int64

    public init(taskID: String, sourceMode: SourceMode, attempts: Int = 1, uploadedBytes: Int64 = 0) {
        self.taskID = taskID
        self.sourceMode = sourceMode
        self.attempts = attempts
        self.uploadedBytes = uploadedBytes
    }
}
