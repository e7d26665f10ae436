import Foundation
import JobCore
import NIOCore
import OCRClient
import OCRTaskAPI
import Synchronization
import Worker

/// A task provider whose answers a test scripts: create results in order, and per task
/// a list of query answers (the last one repeats). Counts every call.
final class ScriptedProvider: ProviderClient {
    struct State {
        var creates: [Result<String, OCRClientError>] = []
        var queries: [String: [Result<TaskRecord, OCRClientError>]] = [:]
        var downloads: [Result<String, OCRClientError>] = []
        var createCalls: [SourcePolicy?] = []
        var queryCalls: [String] = []
        var downloadCalls = 0
        var nextTask = 0
        /// What each create reports it uploaded (0: passed by URL).
        var uploadedBytes: Int64 = 0
        /// Hosts whose documents are fetched ahead (as for the `upload` policy), and
        /// what each fetch waits for first.
        var fetchedHosts: [String: AsyncStream<Void>] = [:]
        var fetchCalls: [String] = []
        var createSources: [String] = []
    }

    let state = Mutex(State())

    /// Creates answer with fresh ids `t1`, `t2`, ... unless scripted.
    func scriptCreates(_ results: [Result<String, OCRClientError>]) { state.withLock { $0.creates = results } }
    func scriptQueries(_ taskID: String, _ results: [Result<TaskRecord, OCRClientError>]) { state.withLock { $0.queries[taskID] = results } }
    func scriptUploadedBytes(_ bytes: Int64) { state.withLock { $0.uploadedBytes = bytes } }
    func scriptDownloads(_ results: [Result<String, OCRClientError>]) { state.withLock { $0.downloads = results } }

    var createCalls: [SourcePolicy?] { state.withLock { $0.createCalls } }
    /// What each create sent: `url` or the fetched copy's path.
    var createSources: [String] { state.withLock { $0.createSources } }
    var fetchCalls: [String] { state.withLock { $0.fetchCalls } }

    /// Documents on `host` are fetched ahead into a file; each fetch waits until `until`
    /// ends (a slow source).
    func scriptFetches(forHost host: String, until: AsyncStream<Void>) { state.withLock { $0.fetchedHosts[host] = until } }

    func fetchSource(_ source: DocumentSource, sourcePolicy: SourcePolicy?, into directory: String) async throws(OCRClientError)
        -> FetchedSource?
    {
        guard case .checkedURL(let url) = source, let gate = state.withLock({ $0.fetchedHosts[url.host] }) else { return nil }
        state.withLock { $0.fetchCalls.append(url.host) }
        for await _ in gate {}
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fetched-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data("%PDF-1.4".utf8))
        return FetchedSource(path: path, bytes: 8, filename: "a.pdf", contentType: "application/pdf")
    }
    var queryCalls: [String] { state.withLock { $0.queryCalls } }

    func createTask(source: DocumentSource, options: TaskOptions, sourcePolicy: SourcePolicy?) async throws(OCRClientError) -> CreateTaskResult {
        let (result, uploaded) = state.withLock { s -> (Result<String, OCRClientError>, Int64) in
            s.createCalls.append(sourcePolicy)
            if case .file(let path, _, _) = source { s.createSources.append(path) } else { s.createSources.append("url") }
            if !s.creates.isEmpty { return (s.creates.removeFirst(), s.uploadedBytes) }
            s.nextTask += 1
            return (.success("t\(s.nextTask)"), s.uploadedBytes)
        }
        return CreateTaskResult(taskID: try result.get(), sourceMode: sourcePolicy == .upload ? .file : .url, uploadedBytes: uploaded)
    }

    func queryTask(_ taskID: String) async throws(OCRClientError) -> TaskRecord {
        let result = state.withLock { s -> Result<TaskRecord, OCRClientError> in
            s.queryCalls.append(taskID)
            guard var answers = s.queries[taskID], !answers.isEmpty else {
                return .success(TaskRecord(taskID: taskID, state: .success, progress: 100, file: "https://results.test/\(taskID).txt"))
            }
            let next = answers.count > 1 ? answers.removeFirst() : answers[0]
            s.queries[taskID] = answers
            return next
        }
        return try result.get()
    }

    func downloadResult(from fileURL: String, into sink: some ResultSink) async throws(OCRClientError) -> DownloadedResult {
        let scripted = state.withLock { s -> Result<String, OCRClientError>? in
            s.downloadCalls += 1
            return s.downloads.isEmpty ? nil : s.downloads.removeFirst()
        }
        let body = try (scripted ?? .success("text of \(fileURL)")).get()
        do {
            try await sink.write(ByteBuffer(string: body))
            try await sink.finish()
        } catch {
            throw OCRClientError(code: .sinkFailed, reason: "\(error)")
        }
        return DownloadedResult(size: Int64(body.utf8.count), sha256: "sha", contentType: "text/plain")
    }

    static func http(_ status: Int, _ endpoint: TaskEndpoint) -> OCRClientError {
        OCRClientError(code: .httpStatus, endpoint: endpoint, status: status, reason: "status \(status)")
    }
}
