public import OCRClient
public import OCRTaskAPI

/// The OCR task API as the job engine uses it: create, query, download. ``OCRClient``
/// is the real one (budget, retries, streaming); unit tests use a scripted fake.
public protocol TaskProvider: Sendable {
    func createTask(source: DocumentSource, options: TaskOptions, sourcePolicy: SourcePolicy?) async throws(OCRClientError) -> CreateTaskResult
    func queryTask(_ taskID: String) async throws(OCRClientError) -> TaskRecord
    /// A query with the successful reply's `Retry-After` (for the poll planner).
    func queryTaskReply(_ taskID: String) async throws(OCRClientError) -> QueriedTask
    func downloadResult(from fileURL: String, into sink: some ResultSink) async throws(OCRClientError) -> DownloadedResult
}

extension TaskProvider {
    /// A provider that cannot see reply headers: the record alone, no `Retry-After`.
    public func queryTaskReply(_ taskID: String) async throws(OCRClientError) -> QueriedTask {
        QueriedTask(record: try await queryTask(taskID))
    }
}

extension OCRClient: TaskProvider {}
