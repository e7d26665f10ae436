public import OCRClient
public import OCRTaskAPI

/// What the adapters of the job engine's provider ports need of the OCR client: create,
/// query, download, in the client's own terms. ``OCRClient`` is the real one (budget,
/// retries, streaming); unit tests use a scripted fake, so the adapters run in them too.
public protocol ProviderClient: Sendable {
    func createTask(source: DocumentSource, options: TaskOptions, sourcePolicy: SourcePolicy?) async throws(OCRClientError) -> CreateTaskResult
    /// The document a create would upload, fetched into a file under `directory`; nil when
    /// the create would not upload.
    func fetchSource(_ source: DocumentSource, sourcePolicy: SourcePolicy?, into directory: String) async throws(OCRClientError)
        -> FetchedSource?
    func queryTask(_ taskID: String) async throws(OCRClientError) -> TaskRecord
    /// A query with the successful reply's `Retry-After` (for the poll planner).
    func queryTaskReply(_ taskID: String) async throws(OCRClientError) -> QueriedTask
    func downloadResult(from fileURL: String, into sink: some ResultSink) async throws(OCRClientError) -> DownloadedResult
}

extension ProviderClient {
    /// A provider that cannot see reply headers: the record alone, no `Retry-After`.
    public func queryTaskReply(_ taskID: String) async throws(OCRClientError) -> QueriedTask {
        QueriedTask(record: try await queryTask(taskID))
    }
}

extension OCRClient: ProviderClient {}
