public import OCRClient
public import OCRTaskAPI

/// The OCR task API as the job engine uses it: create, query, download. ``OCRClient``
/// is the real one (budget, retries, streaming); unit tests use a scripted fake.
public protocol TaskProvider: Sendable {
    func createTask(source: DocumentSource, options: TaskOptions, sourcePolicy: SourcePolicy?) async throws(OCRClientError) -> CreateTaskResult
    func queryTask(_ taskID: String) async throws(OCRClientError) -> TaskRecord
    func downloadResult(from fileURL: String, into sink: some ResultSink) async throws(OCRClientError) -> DownloadedResult
}

extension OCRClient: TaskProvider {}
