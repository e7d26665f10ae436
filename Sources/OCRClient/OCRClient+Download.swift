import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import OCRTaskAPI

extension OCRClient {
    /// A failure of the caller's sink, kept apart from transport failures.
    private struct SinkFailure: Error {
        let underlying: any Error
    }

    /// Streams a result file (`data.file`) into `sink`, hashing as it goes.
    ///
    /// Takes a budget token (priority of existing tasks). `X-API-KEY` is sent only when the
    /// URL has the provider's origin (ocr-server serves results itself): a result on a CDN
    /// or object store must never receive the key. A 401/403/404/410 means the URL expired
    /// (``CallerAction/refreshResultURL``). A transient failure resets the sink and starts
    /// over; a final failure aborts the sink.
    public func downloadResult(from fileURL: String, into sink: some ResultSink) async throws(OCRClientError)
        -> DownloadedResult
    {
        let url: DocumentURL
        do { url = try DocumentURL(fileURL, field: "file") } catch { throw OCRClientError(error) }
        do {
            let result = try await withRetries(endpoint: .download, taskID: nil) { attempt throws(OCRClientError) in
                try await acquire(.existingTask)
                return try await downloadOnce(url, into: sink, attempt: attempt)
            }
            logger.info(
                "result downloaded",
                metadata: [
                    "url": "\(url)", "size": "\(result.size)", "sha256": "\(result.sha256)",
                    "attempts": "\(result.attempts)",
                ])
            return result
        } catch {
            await sink.abort()
            throw error
        }
    }

    private func downloadOnce(_ url: DocumentURL, into sink: some ResultSink, attempt: Int) async throws(OCRClientError)
        -> DownloadedResult
    {
        let response = try await fetch(url, endpoint: .download, secrets: redactor)
        let status = Int(response.status.code)
        guard status == 200 else {
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) }
            if isProviderOrigin(url) { noteThrottling(status: status, retryAfter: retryAfter) }
            throw OCRClientError(
                code: .httpStatus, endpoint: .download, status: status, retryAfter: retryAfter,
                reason: "downloading the result \(url) answered HTTP \(status)", attempts: attempt)
        }
        let expected = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await chunk in response.body {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                size += Int64(chunk.readableBytes)
                do { try await sink.write(chunk) } catch { throw SinkFailure(underlying: error) }
            }
            if let expected, expected != size {
                throw OCRClientError(
                    code: .transport, endpoint: .download, transport: .truncatedBody,
                    reason: "received \(size) of \(expected) bytes")
            }
            do { try await sink.finish() } catch { throw SinkFailure(underlying: error) }
        } catch {
            try? await sink.reset()
            if let failure = error as? SinkFailure {
                throw OCRClientError(
                    code: .sinkFailed, endpoint: .download,
                    reason: "the sink failed: \(redactor.scrub(String(describing: failure.underlying)).prefix(300))")
            }
            var mapped = transportError(error, endpoint: .download, taskID: nil)
            // An error mid-body after a complete head is a cut reply.
            if mapped.code == .transport, mapped.transport == .connectionReset || mapped.transport == .other {
                mapped.transport = .truncatedBody
            }
            throw mapped
        }
        let digest = Hex.lowercase(hasher.finalize())
        return DownloadedResult(
            size: size, sha256: digest, contentType: response.headers.first(name: "Content-Type"), attempts: attempt)
    }

    /// Whether `url` has the provider's origin (scheme, host and port of the base URL).
    func isProviderOrigin(_ url: DocumentURL) -> Bool {
        url.scheme == base.scheme && url.host.lowercased() == base.host.lowercased() && url.port == base.port
    }

    /// GET following up to 5 redirects by hand, so the API key goes only to the provider's
    /// origin, whatever the redirects say. Returns the final response with its body unread.
    func fetch(_ start: DocumentURL, endpoint: TaskEndpoint, secrets: SecretRedactor) async throws(OCRClientError)
        -> HTTPClientResponse
    {
        var url = start
        var hops = 0
        while true {
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .GET
            addCommonHeaders(&request, withKey: endpoint != .sourceFetch && isProviderOrigin(url))
            request.headers.replaceOrAdd(name: "Accept", value: "*/*")
            let response: HTTPClientResponse
            let started = ContinuousClock.now
            do {
                response = try await http.execute(
                    request, timeout: Self.timeAmount(configuration.transferTimeout), logger: logger)
            } catch {
                ProviderRequestMetrics.record(endpoint, status: nil, duration: ContinuousClock.now - started)
                throw transportError(error, endpoint: endpoint, taskID: nil, secrets: secrets)
            }
            let status = Int(response.status.code)
            // Time to the response head: the body streams into a sink afterwards.
            ProviderRequestMetrics.record(endpoint, status: status, duration: ContinuousClock.now - started)
            logger.debug("fetch reply", metadata: ["endpoint": "\(endpoint)", "url": "\(url)", "status": "\(status)"])
            guard [301, 302, 303, 307, 308].contains(status), let location = response.headers.first(name: "Location")
            else { return response }
            hops += 1
            guard hops <= 5, let next = URL(string: location, relativeTo: url.url)?.absoluteURL,
                let nextURL = try? DocumentURL(next.absoluteString, field: "file")
            else {
                throw OCRClientError(
                    code: .httpStatus, endpoint: endpoint, status: status,
                    reason: "too many redirects or a redirect to an unusable location from \(url)")
            }
            url = nextURL
        }
    }
}
