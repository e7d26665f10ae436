import Foundation
public import JobContract
public import JobCore
public import Logging
import OCRClient
public import ResultStore

/// The job engine's ``ResultRehoster`` port: the OCR client streams the provider's result
/// file into a result-store writer (``StoreSink``), never whole in memory.
public struct StoreRehoster: ResultRehoster {
    let client: any ProviderClient
    let store: any ResultStore
    let retry: DependencyRetry
    let logger: Logger

    public init(client: any ProviderClient, store: any ResultStore, retry: DependencyRetry, logger: Logger) {
        self.client = client
        self.store = store
        self.retry = retry
        self.logger = logger
    }

    public func rehost(fileURL: String, for job: Job) async throws -> RehostOutcome {
        let key = ResultKey.forJob(job.jobID, fileExtension: job.format.rawValue)
        let store = self.store
        // Opening a writer is our own infrastructure: retried like the ledger, never a
        // failure of the job.
        let writer = try await retry.run("open result store", logger) {
            try await store.makeWriter(key: key, contentType: job.format.contentType)
        }
        let sink = StoreSink(writer)
        let downloaded: DownloadedResult
        do {
            downloaded = try await client.downloadResult(from: fileURL, into: sink)
        } catch {
            await writer.abort()
            try Task.checkCancellation()
            if error.code == .sinkFailed { return .storeFailed(reason: "\(error)") }
            return .providerFailed(ProviderFailure(error))
        }
        guard let stored = sink.stored else { return .storeFailed(reason: "the store kept no object") }
        return .stored(
            .init(
                fileURL: fileURL, fileURLExpiresAt: Date(), location: stored.location, sizeBytes: downloaded.size,
                sha256: downloaded.sha256, contentType: downloaded.contentType ?? job.format.contentType))
    }
}
