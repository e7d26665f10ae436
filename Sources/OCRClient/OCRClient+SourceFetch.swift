import AsyncHTTPClient
import Foundation
import NIOCore
import OCRTaskAPI

/// A job's document fetched ahead of its create, in a local file the create uploads.
public struct FetchedSource: Sendable, Hashable {
    public var path: String
    public var bytes: Int64
    /// The name and type the upload's form part carries.
    public var filename: String
    public var contentType: String

    public init(path: String, bytes: Int64, filename: String, contentType: String) {
        self.path = path
        self.bytes = bytes
        self.filename = filename
        self.contentType = contentType
    }

    /// The document to create from.
    public var source: DocumentSource { .file(path: path, filename: filename, contentType: contentType) }

    /// Removes the file (after the create, whatever its outcome).
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension OCRClient {
    /// Fetches the document a create would upload into a file under `directory`, so the
    /// create itself sends a local file: a slow or stalled source then never holds what a
    /// create holds (the worker's create permit, a create claim). Returns nil when the
    /// create would not upload (the provider fetches the URL itself, or the source is a
    /// file already).
    ///
    /// Through the SSRF guard, bounded like a download-and-upload create: at most
    /// ``OCRClientConfiguration/maxDocumentBytes``, and every attempt, head and body,
    /// within ``OCRClientConfiguration/transferTimeout`` in all (a source that trickles
    /// bytes is stopped by that deadline, not only by an idle timeout). No request budget:
    /// the source is not the provider. Transient failures are retried; the file is removed
    /// when the fetch fails.
    public func fetchSource(
        _ source: DocumentSource, sourcePolicy: SourcePolicy?, into directory: String
    ) async throws(OCRClientError) -> FetchedSource? {
        guard case .downloadAndUpload(let url) = try await makePlan(source, policy: sourcePolicy ?? configuration.sourcePolicy)
        else { return nil }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw OCRClientError(code: .sinkFailed, endpoint: .sourceFetch, reason: "cannot create \(directory): \(error)")
        }
        let path = directory + "/source-" + UUID().uuidString
        let sink = FileResultSink(path: path)
        let deadline = NIODeadline.now() + Self.timeAmount(configuration.transferTimeout)
        let secrets = redactor
        do throws(OCRClientError) {
            let fetched = try await withRetries(endpoint: .sourceFetch, taskID: nil) { attempt throws(OCRClientError) in
                guard NIODeadline.now() < deadline else { throw sourceDeadlineError(url, attempts: attempt) }
                do throws(OCRClientError) {
                    return try await fetch(url, endpoint: .sourceFetch, secrets: secrets, deadline: deadline) {
                        [self] response, _ in
                        try await receiveSource(response, of: url, into: sink, path: path)
                    }
                } catch  where error.code == .transport && error.transport == .readTimeout && NIODeadline.now() >= deadline {
                    throw sourceDeadlineError(url, attempts: attempt)
                }
            }
            logger.debug("source fetched", metadata: ["url": "\(url)", "bytes": "\(fetched.bytes)"])
            return fetched
        } catch {
            await sink.abort()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    private func sourceDeadlineError(_ url: DocumentURL, attempts: Int) -> OCRClientError {
        OCRClientError(
            code: .deadlineExceeded, endpoint: .sourceFetch, field: TaskAPI.Field.imageURL,
            reason: "fetching the document \(url) did not finish within \(configuration.transferTimeout)", attempts: attempts)
    }

    /// Reads one source reply into the file (resetting it on failure).
    private func receiveSource(
        _ response: HTTPClientResponse, of url: DocumentURL, into sink: FileResultSink, path: String
    ) async throws(OCRClientError) -> FetchedSource {
        let (length, filename, contentType) = try sourceReply(response, of: url)
        let limit = configuration.maxDocumentBytes
        var size: Int64 = 0
        do {
            for try await chunk in response.body {
                size += Int64(chunk.readableBytes)
                if size > limit {
                    throw OCRClientError(
                        code: .documentTooLarge, endpoint: .sourceFetch, field: TaskAPI.Field.imageURL,
                        reason: "the document exceeds the limit of \(limit) bytes")
                }
                try await sink.write(chunk)
            }
            // A cancelled read can end early without an error: never upload a cut file.
            try Task.checkCancellation()
            if let length, length != size {
                throw OCRClientError(
                    code: .transport, endpoint: .sourceFetch, transport: .truncatedBody,
                    reason: "received \(size) of \(length) bytes")
            }
            try await sink.finish()
        } catch let error as OCRClientError {
            try? await sink.reset()
            throw error
        } catch {
            try? await sink.reset()
            throw transportError(error, endpoint: .sourceFetch, taskID: nil)
        }
        return FetchedSource(path: path, bytes: size, filename: filename, contentType: contentType)
    }
}
