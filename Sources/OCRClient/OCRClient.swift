public import AsyncHTTPClient
import Crypto
import Foundation
public import GuardedFetch
public import Logging
import NIOCore
import NIOHTTP1
public import OCRTaskAPI
import _NIOFileSystem

/// The client of the OCR task API (docs/architecture.md, "The OCR task API") on AsyncHTTPClient.
///
/// - Every provider call (create, query, result download) sends `X-API-KEY` and first takes
///   a token from ``budget``; polls and downloads overtake queued creates.
/// - Transient failures (``CallerAction/retryLater(after:)``) are retried per
///   ``OCRClientConfiguration/retry``; everything else is thrown at once as an
///   ``OCRClientError`` whose ``OCRClientError/action`` says what to do.
/// - Uploads and downloads stream: a document or result never sits whole in memory.
/// - Logs and errors never contain the API key, a password or a URL's query.
/// - Redirects are not followed on API calls (they would carry the key elsewhere); result
///   and source downloads follow up to 5 of them by hand.
/// - Result and source downloads go through ``GuardedFetcher``: every hop's name and every
///   resolved address is checked against ``OCRClientConfiguration/downloadPolicy``, and the
///   connection goes to a checked address.
public final class OCRClient: Sendable {
    public let configuration: OCRClientConfiguration
    public let budget: RequestBudget
    let http: HTTPClient
    private let ownsHTTPClient: Bool
    let logger: Logger
    let redactor: SecretRedactor
    let base: DocumentURL
    /// Every download of the client's own (sources, results); never the shared client.
    let fetcher: GuardedFetcher

    /// - Parameters:
    ///   - httpClient: a shared client for the API calls; by default the client makes (and
    ///     shuts down) its own. A shared one must not follow redirects. Downloads never use
    ///     it: each of their hops runs on a client pinned to a checked address.
    ///   - budget: a budget to share with other clients of the same key; by default one of
    ///     ``OCRClientConfiguration/budget``.
    ///   - resolver: resolves the hosts of downloads (each hop once); the system's by default.
    public init(
        configuration: OCRClientConfiguration, httpClient: HTTPClient? = nil, budget: RequestBudget? = nil,
        logger: Logger = Logger(label: "ocr-client"), resolver: any HostResolver = SystemHostResolver()
    ) throws(OCRClientError) {
        do {
            base = try DocumentURL(configuration.baseURL, field: "base_url")
        } catch {
            throw OCRClientError(error)
        }
        guard !configuration.apiKey.isEmpty else {
            throw OCRClientError(code: .invalidRequest, field: "api_key", reason: "the API key is empty")
        }
        self.configuration = configuration
        self.budget = budget ?? RequestBudget(configuration: configuration.budget)
        self.logger = logger
        redactor = SecretRedactor(secrets: [configuration.apiKey])
        fetcher = GuardedFetcher(
            policy: configuration.downloadPolicy, resolver: resolver,
            connectTimeout: Self.timeAmount(configuration.connectTimeout),
            readTimeout: Self.timeAmount(configuration.readTimeout))
        if let httpClient {
            http = httpClient
            ownsHTTPClient = false
        } else {
            var httpConfiguration = HTTPClient.Configuration()
            httpConfiguration.timeout = HTTPClient.Configuration.Timeout(
                connect: Self.timeAmount(configuration.connectTimeout),
                read: Self.timeAmount(configuration.readTimeout))
            httpConfiguration.redirectConfiguration = .disallow
            httpConfiguration.decompression = .disabled
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
            ownsHTTPClient = true
        }
    }

    /// Shuts down the HTTP client if this client made it.
    public func shutdown() async throws {
        if ownsHTTPClient { try await http.shutdown() }
    }

    // MARK: Query

    /// Reads a task. The record's ``TaskRecord/state`` decides what comes next
    /// (``OutcomePolicy/action(for:)-(TaskState)``); a state is never an error here.
    public func queryTask(_ taskID: String) async throws(OCRClientError) -> TaskRecord {
        try await queryTaskReply(taskID).record
    }

    /// Reads a task, with the `Retry-After` of the successful reply
    /// (``QueriedTask/pollRetryAfter(_:now:)``): what the poll planner needs.
    public func queryTaskReply(_ taskID: String) async throws(OCRClientError) -> QueriedTask {
        guard !taskID.isEmpty, taskID.count <= 256 else {
            throw OCRClientError(code: .invalidRequest, field: "task_id", reason: "task id is empty or too long")
        }
        return try await withRetries(endpoint: .query, taskID: taskID) { attempt throws(OCRClientError) in
            try await acquire(.existingTask)
            let reply = try await exchangeBuffered(
                method: .GET, url: apiURL(TaskAPI.queryPath(taskID: taskID)), headers: apiHeaders,
                endpoint: .query, taskID: taskID, attempt: attempt)
            let record = try decodeReply(reply, as: TaskRecord.self, endpoint: .query, taskID: taskID)
            return QueriedTask(record: record, retryAfter: QueriedTask.pollRetryAfter(reply.headers.first(name: "Retry-After")))
        }
    }

    // MARK: Plumbing shared by the operations

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    func apiURL(_ path: String) -> String {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text + path
    }

    /// The headers of an API call: the key, our user agent, JSON wanted.
    var apiHeaders: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: TaskAPI.apiKeyHeader, value: configuration.apiKey)
        headers.add(name: "User-Agent", value: configuration.userAgent)
        headers.add(name: "Accept", value: "application/json")
        return headers
    }

    func addCommonHeaders(_ request: inout HTTPClientRequest, withKey: Bool) {
        if withKey { request.headers.replaceOrAdd(name: TaskAPI.apiKeyHeader, value: configuration.apiKey) }
        request.headers.replaceOrAdd(name: "User-Agent", value: configuration.userAgent)
        request.headers.replaceOrAdd(name: "Accept", value: "application/json")
    }

    func acquire(_ priority: RequestPriority) async throws(OCRClientError) {
        do {
            try await budget.acquire(priority)
        } catch {
            throw OCRClientError(code: .cancelled, reason: "cancelled while waiting for the request budget")
        }
    }

    /// Sends an API request whose body streams (an upload) and collects its (small) reply.
    func exchange(
        _ request: HTTPClientRequest, endpoint: TaskEndpoint, taskID: String?, attempt: Int,
        deadline: Duration? = nil, secrets: SecretRedactor? = nil
    ) async throws(OCRClientError) -> Reply {
        let started = ContinuousClock.now
        do {
            let response = try await http.execute(
                request, timeout: Self.timeAmount(deadline ?? configuration.requestTimeout), logger: logger)
            let body = try await response.body.collect(upTo: configuration.maxReplyBytes)
            return received(
                Reply(status: Int(response.status.code), headers: response.headers, body: body),
                endpoint: endpoint, taskID: taskID, attempt: attempt, started: started)
        } catch {
            ProviderRequestMetrics.record(endpoint, status: nil, duration: ContinuousClock.now - started)
            throw transportError(error, endpoint: endpoint, taskID: taskID, secrets: secrets)
        }
    }

    /// Sends an API request whose body is already in memory (a poll, a create by URL) and
    /// collects its reply on the event loop.
    ///
    /// Why not ``exchange(_:endpoint:taskID:attempt:deadline:secrets:)``: AsyncHTTPClient's
    /// async API hands the reply body over through an async sequence (a producer, a
    /// cancellation handler and task hops per reply), which made a third of the client's
    /// cost per poll. Its buffered path gathers the body on the event loop (within
    /// ``OCRClientConfiguration/maxReplyBytes``) and resumes the caller once. Cancelling the
    /// calling task cancels the request, as on the async path.
    func exchangeBuffered(
        method: HTTPMethod, url: String, headers: HTTPHeaders, body: ByteBuffer? = nil,
        endpoint: TaskEndpoint, taskID: String?, attempt: Int, secrets: SecretRedactor? = nil
    ) async throws(OCRClientError) -> Reply {
        let started = ContinuousClock.now
        do {
            let request = try HTTPClient.Request(
                url: url, method: method, headers: headers, body: body.map { .byteBuffer($0) })
            let task = http.execute(
                request: request,
                delegate: ResponseAccumulator(request: request, maxBodySize: configuration.maxReplyBytes),
                deadline: .now() + Self.timeAmount(configuration.requestTimeout), logger: logger)
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            return received(
                Reply(status: Int(response.status.code), headers: response.headers, body: response.body ?? ByteBuffer()),
                endpoint: endpoint, taskID: taskID, attempt: attempt, started: started)
        } catch {
            ProviderRequestMetrics.record(endpoint, status: nil, duration: ContinuousClock.now - started)
            throw transportError(error, endpoint: endpoint, taskID: taskID, secrets: secrets)
        }
    }

    /// What every reply gets: its metric and its debug line.
    private func received(
        _ reply: Reply, endpoint: TaskEndpoint, taskID: String?, attempt: Int, started: ContinuousClock.Instant
    ) -> Reply {
        let elapsed = ContinuousClock.now - started
        ProviderRequestMetrics.record(endpoint, status: reply.status, duration: elapsed)
        logger.debug(
            "provider reply",
            metadata: [
                "endpoint": "\(endpoint)", "status": "\(reply.status)", "attempt": "\(attempt)",
                "task_id": "\(taskID ?? "")", "duration_ms": "\(elapsed.wholeMilliseconds)",
            ])
        return reply
    }

    /// Turns a reply into its payload or a typed error, and feeds 429s and `Retry-After`
    /// to the budget.
    func decodeReply<Payload: Codable & Sendable>(
        _ reply: Reply, as: Payload.Type, endpoint: TaskEndpoint, taskID: String?, secrets: SecretRedactor? = nil
    ) throws(OCRClientError) -> Payload {
        let redactor = secrets ?? self.redactor
        // Capped before anything waits on it: the request budget's pause, this call's
        // retries and the job's next attempt (OutcomePolicy.maximumRetryAfter).
        let retryAfter = reply.headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) }
            .map { min($0, OutcomePolicy.maximumRetryAfter) }
        noteThrottling(status: reply.status, retryAfter: retryAfter)
        let envelope = try? JSONDecoder().decode(APIReply<Payload>.self, from: Data(reply.body.readableBytesView))
        // Scrubbed only on the error paths: a success's message is never shown.
        var message: String? { envelope?.message.map { String(redactor.scrub($0).prefix(300)) } }
        guard reply.status == 200 else {
            throw OCRClientError(
                code: .httpStatus, endpoint: endpoint, status: reply.status, providerMessage: message,
                retryAfter: retryAfter, taskID: taskID, reason: "the provider answered HTTP \(reply.status)")
        }
        guard let envelope else {
            throw OCRClientError(
                code: .transport, endpoint: endpoint, transport: .malformedReply, taskID: taskID,
                reason: "the reply is not the API's JSON envelope (\(reply.body.readableBytes) bytes)")
        }
        guard envelope.status == 200 else {
            noteThrottling(status: envelope.status, retryAfter: retryAfter)
            throw OCRClientError(
                code: .httpStatus, endpoint: endpoint, status: envelope.status, providerMessage: message,
                retryAfter: retryAfter, taskID: taskID,
                reason: "HTTP 200 but the reply's status is \(envelope.status)")
        }
        guard let data = envelope.data else {
            throw OCRClientError(
                code: .transport, endpoint: endpoint, transport: .malformedReply, taskID: taskID,
                reason: "the reply has status 200 but no data")
        }
        return data
    }

    func noteThrottling(status: Int, retryAfter: Duration?) {
        if status == 429 {
            budget.recordThrottle(retryAfter: retryAfter)
        } else if status >= 500, let retryAfter {
            budget.pause(for: retryAfter)
        }
    }

    func transportError(
        _ error: any Error, endpoint: TaskEndpoint, taskID: String?, secrets: SecretRedactor? = nil
    ) -> OCRClientError {
        if let error = error as? OCRClientError { return error }
        switch error {
        case MultipartBodyError.limitExceeded(let limit):
            return OCRClientError(
                code: .documentTooLarge, endpoint: endpoint, taskID: taskID,
                field: TaskAPI.Field.imageFile, reason: "the document exceeds \(limit) bytes")
        case MultipartBodyError.lengthMismatch(let expected, let actual):
            return OCRClientError(
                code: .transport, endpoint: endpoint == .create ? .sourceFetch : endpoint,
                transport: .truncatedBody, taskID: taskID,
                reason: "the document's length changed while it was sent (\(actual) of \(expected) bytes)")
        case let error as FileSystemError:
            return OCRClientError(
                code: .fileUnreadable, endpoint: endpoint, taskID: taskID, field: TaskAPI.Field.imageFile,
                reason: "reading the document failed: \(error.code)")
        default:
            break
        }
        let detail = (secrets ?? redactor).scrub(String(describing: error))
        switch TransportErrorClassifier.classify(error) {
        case .cancelled:
            return OCRClientError(code: .cancelled, endpoint: endpoint, taskID: taskID, reason: "cancelled")
        case .failure(let failure):
            return OCRClientError(
                code: .transport, endpoint: endpoint, transport: failure, taskID: taskID,
                reason: String(detail.prefix(300)))
        }
    }

    /// Runs `operation` until it succeeds, fails in a way that is not
    /// ``CallerAction/retryLater(after:)``, or the retry bounds are reached. The operation
    /// takes its own budget token, at the moment it is about to send.
    func withRetries<T>(
        endpoint: TaskEndpoint, taskID: String?,
        _ operation: (Int) async throws(OCRClientError) -> T
    ) async throws(OCRClientError) -> T {
        let policy = configuration.retry
        let clock = budget.clock
        let start = budget.now()
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await operation(attempt)
            } catch var error {
                error.attempts = attempt
                guard case .retryLater(let retryAfter) = error.action, error.code != .cancelled,
                    attempt < policy.maxAttempts
                else { throw error }
                if endpoint == .create, error.isAmbiguous, !policy.retryAmbiguousCreates { throw error }
                let delay = policy.delay(beforeRetry: attempt, retryAfter: retryAfter)
                guard budget.now() - start + delay <= policy.maxTotalTime else { throw error }
                logger.notice(
                    "provider call failed, retrying",
                    metadata: [
                        "endpoint": "\(endpoint)", "task_id": "\(taskID ?? "")", "attempt": "\(attempt)",
                        "delay_ms": "\(delay.wholeMilliseconds)",
                        "error": "\(error)",
                    ])
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    throw OCRClientError(
                        code: .cancelled, endpoint: endpoint, taskID: taskID, reason: "cancelled during backoff",
                        attempts: attempt)
                }
            }
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
