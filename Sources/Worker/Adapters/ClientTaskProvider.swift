import Foundation
public import JobContract
public import JobCore
import OCRClient

/// The job engine's ``TaskProvider`` port on the OCR client: a job's document goes by its
/// checked URL, or uploaded when the machine asks for it, from a copy fetched ahead into
/// `sourceDirectory`.
public struct ClientTaskProvider: TaskProvider {
    let client: any ProviderClient
    let sourceDirectory: String

    public init(client: any ProviderClient, sourceDirectory: String = ClientTaskProvider.defaultSourceDirectory) {
        self.client = client
        self.sourceDirectory = sourceDirectory
    }

    /// Under the system's temporary directory, one per process.
    public static let defaultSourceDirectory =
        FileManager.default.temporaryDirectory.appendingPathComponent("ocr-worker-sources-\(ProcessInfo.processInfo.processIdentifier)").path

    public func fetchSource(for job: Job, upload: Bool) async throws(ProviderFailure) -> SourceFetch? {
        do {
            guard
                let fetched = try await client.fetchSource(
                    .checkedURL(job.source), sourcePolicy: upload ? .upload : nil, into: sourceDirectory)
            else { return nil }
            return SourceFetch(location: fetched.path, bytes: fetched.bytes, filename: fetched.filename, contentType: fetched.contentType)
        } catch {
            throw ProviderFailure(error)
        }
    }

    public func createTask(for job: Job, upload: Bool, fetched: SourceFetch?) async throws(ProviderFailure) -> TaskCreation {
        do {
            let source: DocumentSource =
                fetched.map { .file(path: $0.location, filename: $0.filename, contentType: $0.contentType) } ?? .checkedURL(job.source)
            let created = try await client.createTask(source: source, options: job.options, sourcePolicy: upload ? .upload : nil)
            return TaskCreation(taskID: created.taskID, uploadedBytes: created.uploadedBytes, sourceMode: "\(created.sourceMode)")
        } catch {
            throw ProviderFailure(error)
        }
    }

    public func discard(_ fetched: SourceFetch) {
        try? FileManager.default.removeItem(atPath: fetched.location)
    }

    public func queryTask(_ taskID: String) async throws(ProviderFailure) -> TaskReply {
        do {
            let reply = try await client.queryTaskReply(taskID)
            return TaskReply(record: reply.record, retryAfter: reply.retryAfter)
        } catch {
            throw ProviderFailure(error)
        }
    }
}
