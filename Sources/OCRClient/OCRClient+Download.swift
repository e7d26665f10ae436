import AsyncHTTPClient
import Crypto
import Foundation
import GuardedFetch
import HexEncoding
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
    ///
    /// Bounded: a result over ``OCRClientConfiguration/maxResultBytes`` fails with
    /// ``OCRClientError/Code/resultTooLarge``, and the whole download (every attempt, head
    /// and body) must end within ``OCRClientConfiguration/resultDownloadTimeout``, else
    /// ``OCRClientError/Code/deadlineExceeded``; both are permanent. Every hop is checked
    /// against ``OCRClientConfiguration/downloadPolicy`` (``OCRClientError/Code/forbiddenAddress``).
    public func downloadResult(from fileURL: String, into sink: some ResultSink) async throws(OCRClientError)
        -> DownloadedResult
    {
        let url: DocumentURL
        do { url = try DocumentURL(fileURL, field: "file") } catch { throw OCRClientError(error) }
        let deadline = NIODeadline.now() + Self.timeAmount(configuration.resultDownloadTimeout)
        do {
            let result = try await withRetries(endpoint: .download, taskID: nil) { attempt throws(OCRClientError) in
                guard NIODeadline.now() < deadline else { throw resultDeadlineError(attempts: attempt) }
                try await acquire(.existingTask)
                return try await downloadOnce(url, into: sink, attempt: attempt, deadline: deadline)
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

    private func resultDeadlineError(attempts: Int) -> OCRClientError {
        OCRClientError(
            code: .deadlineExceeded, endpoint: .download,
            reason: "the result download did not finish within \(configuration.resultDownloadTimeout) (the result download timeout)",
            attempts: attempts)
    }

    private func downloadOnce(
        _ url: DocumentURL, into sink: some ResultSink, attempt: Int, deadline: NIODeadline
    ) async throws(OCRClientError) -> DownloadedResult {
        let maxBytes = configuration.maxResultBytes
        let redactor = self.redactor
        do {
            return try await fetch(url, endpoint: .download, secrets: redactor, deadline: deadline) {
                [self] response, finalURL in
                try await receive(response, from: finalURL, into: sink, maxBytes: maxBytes, attempt: attempt)
            }
        } catch  where error.code == .transport && error.transport == .readTimeout && NIODeadline.now() >= deadline {
            throw resultDeadlineError(attempts: attempt)
        }
    }

    /// Reads one result reply into the sink (resetting it on failure).
    private func receive(
        _ response: HTTPClientResponse, from url: DocumentURL, into sink: some ResultSink, maxBytes: Int64, attempt: Int
    ) async throws(OCRClientError) -> DownloadedResult {
        let status = Int(response.status.code)
        guard status == 200 else {
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) }
            if isProviderOrigin(url) { noteThrottling(status: status, retryAfter: retryAfter) }
            throw OCRClientError(
                code: .httpStatus, endpoint: .download, status: status, retryAfter: retryAfter,
                reason: "downloading the result \(url) answered HTTP \(status)", attempts: attempt)
        }
        let expected = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
        if let expected, expected > maxBytes {
            throw OCRClientError(
                code: .resultTooLarge, endpoint: .download,
                reason: "the result \(url) is \(expected) bytes; the limit is \(maxBytes)", attempts: attempt)
        }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await chunk in response.body {
                size += Int64(chunk.readableBytes)
                if size > maxBytes {
                    throw OCRClientError(
                        code: .resultTooLarge, endpoint: .download,
                        reason: "the result \(url) exceeds the limit of \(maxBytes) bytes", attempts: attempt)
                }
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                do { try await sink.write(chunk) } catch { throw SinkFailure(underlying: error) }
            }
            // A cancelled read can end early without an error: never publish a cut file.
            try Task.checkCancellation()
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

    /// GET through the SSRF guard (``GuardedFetcher``), following up to 5 redirects by hand
    /// so that every hop is checked and the API key goes only to the provider's origin,
    /// whatever the redirects say. `body` reads the final response (with the URL that
    /// answered) before `deadline`.
    func fetch<T: Sendable>(
        _ start: DocumentURL, endpoint: TaskEndpoint, secrets: SecretRedactor, deadline: NIODeadline,
        _ body: @escaping @Sendable (HTTPClientResponse, DocumentURL) async throws -> T
    ) async throws(OCRClientError) -> T {
        let logger = self.logger
        do {
            return try await fetcher.get(
                start, deadline: deadline, logger: logger,
                headers: { [self] url in
                    var headers = HTTPHeaders()
                    if endpoint != .sourceFetch, isProviderOrigin(url) {
                        headers.add(name: TaskAPI.apiKeyHeader, value: configuration.apiKey)
                    }
                    headers.add(name: "User-Agent", value: configuration.userAgent)
                    headers.add(name: "Accept", value: "*/*")
                    return headers
                },
                observe: { url, status, duration in
                    // Time to the response head: the body streams into a sink afterwards.
                    ProviderRequestMetrics.record(endpoint, status: status, duration: duration)
                    logger.debug(
                        "fetch reply", metadata: ["endpoint": "\(endpoint)", "url": "\(url)", "status": "\(status ?? 0)"])
                }
            ) { guarded in
                try await body(guarded.response, guarded.url)
            }
        } catch let error as GuardedFetchError {
            throw guardError(error, endpoint: endpoint)
        } catch {
            throw transportError(error, endpoint: endpoint, taskID: nil, secrets: secrets)
        }
    }

    /// A refusal or give-up of the guard as the client's error.
    private func guardError(_ error: GuardedFetchError, endpoint: TaskEndpoint) -> OCRClientError {
        switch error {
        case .forbidden, .forbiddenPort:
            return OCRClientError(
                code: .forbiddenAddress, endpoint: endpoint,
                field: endpoint == .sourceFetch ? TaskAPI.Field.imageURL : nil, reason: error.description)
        case .unresolvable:
            return OCRClientError(code: .transport, endpoint: endpoint, transport: .dnsFailure, reason: error.description)
        case .tooManyRedirects(_, _, let status), .invalidRedirect(_, let status):
            return OCRClientError(code: .httpStatus, endpoint: endpoint, status: status, reason: error.description)
        case .deadlineExceeded:
            // The caller decides what its deadline means (see downloadOnce); as before, an
            // exchange that ran out of time is a read timeout.
            return OCRClientError(code: .transport, endpoint: endpoint, transport: .readTimeout, reason: error.description)
        }
    }
}
