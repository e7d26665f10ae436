public import OCRTaskAPI

/// Every failure of ``OCRClient``: a code plus the context needed to act and to debug
/// (endpoint, HTTP status, provider message, transport failure, attempts).
///
/// ``action`` is ``OutcomePolicy``'s verdict for the failure, so callers never interpret
/// statuses themselves. ``description`` is safe to log: texts that came from outside pass
/// through a redactor that removes the API key, passwords and URL queries, and URLs are
/// only ever stored redacted.
public struct OCRClientError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The request breaks the contract; nothing was sent. See ``field``.
        public static let invalidRequest = Code(rawValue: "invalid_request")
        /// The server answered with a non-success status (HTTP, or `status` in the body).
        public static let httpStatus = Code(rawValue: "http_status")
        /// No usable reply; see ``transport``.
        public static let transport = Code(rawValue: "transport")
        /// The document exceeds the size limit.
        public static let documentTooLarge = Code(rawValue: "document_too_large")
        /// The local file could not be read.
        public static let fileUnreadable = Code(rawValue: "file_unreadable")
        /// The result sink failed to store bytes.
        public static let sinkFailed = Code(rawValue: "sink_failed")
        /// The caller's task was cancelled.
        public static let cancelled = Code(rawValue: "cancelled")
        /// A download of ours was refused by ``OCRClientConfiguration/downloadPolicy``: a
        /// hop's host or one of its addresses is link-local, metadata, reserved, or
        /// otherwise not allowed (the reason says which).
        public static let forbiddenAddress = Code(rawValue: "forbidden_address")
        /// A result file is larger than ``OCRClientConfiguration/maxResultBytes``.
        public static let resultTooLarge = Code(rawValue: "result_too_large")
        /// A result download did not finish within
        /// ``OCRClientConfiguration/resultDownloadTimeout``.
        public static let deadlineExceeded = Code(rawValue: "deadline_exceeded")

        public var description: String { rawValue }
    }

    public var code: Code
    public var endpoint: TaskEndpoint?
    /// The HTTP status, or the body's `status` when HTTP said 200 and the body did not.
    public var status: Int?
    /// The provider's `message`, redacted and shortened.
    public var providerMessage: String?
    public var transport: TransportFailure?
    /// The parsed `Retry-After` of the reply.
    public var retryAfter: Duration?
    public var taskID: String?
    /// The wire field at fault, for ``Code/invalidRequest``.
    public var field: String?
    /// Why; redacted.
    public var reason: String
    /// Requests made before giving up (0 if none was sent).
    public var attempts: Int

    public init(
        code: Code, endpoint: TaskEndpoint? = nil, status: Int? = nil, providerMessage: String? = nil,
        transport: TransportFailure? = nil, retryAfter: Duration? = nil, taskID: String? = nil,
        field: String? = nil, reason: String, attempts: Int = 0
    ) {
        self.code = code
        self.endpoint = endpoint
        self.status = status
        self.providerMessage = providerMessage
        self.transport = transport
        self.retryAfter = retryAfter
        self.taskID = taskID
        self.field = field
        self.reason = reason
        self.attempts = attempts
    }

    /// A validation failure of the shared contract.
    public init(_ error: TaskRequestError) {
        self.init(code: .invalidRequest, field: error.field, reason: error.description)
    }

    /// What the caller should do, per ``OutcomePolicy``.
    public var action: CallerAction {
        switch code {
        case .httpStatus:
            return OutcomePolicy.action(
                for: .http(status: status ?? 500, endpoint: endpoint ?? .query, retryAfter: retryAfter))
        case .transport:
            return OutcomePolicy.action(for: .transport(transport ?? .other, endpoint: endpoint ?? .query))
        case .invalidRequest, .documentTooLarge, .fileUnreadable, .forbiddenAddress, .resultTooLarge,
            .deadlineExceeded:
            // Asking again gets the same address, size or speed.
            return .permanentFailure
        default:
            // Sink failures (local disk) and cancellation: the job is fine; try again later.
            return .retryLater(after: nil)
        }
    }

    /// Whether the provider may have acted on the request although it failed (a create
    /// whose reply was lost). See ``RetryPolicy/retryAmbiguousCreates``.
    public var isAmbiguous: Bool {
        guard code == .transport, let transport else { return false }
        switch transport {
        case .connectTimeout, .connectionRefused, .dnsFailure, .tlsFailure: return false
        default: return true
        }
    }

    public var description: String {
        var parts = ["OCRClientError(\(code)"]
        if let endpoint { parts.append("endpoint: \(endpoint)") }
        if let status { parts.append("status: \(status)") }
        if let transport { parts.append("transport: \(transport)") }
        if let field { parts.append("field: \(field)") }
        if let taskID { parts.append("task_id: \(taskID)") }
        if let retryAfter { parts.append("retry_after: \(retryAfter)") }
        if attempts > 0 { parts.append("attempts: \(attempts)") }
        parts.append("action: \(action.name)")
        if let providerMessage { parts.append("message: \"\(providerMessage)\"") }
        parts.append("reason: \(reason)")
        return parts.joined(separator: ", ") + ")"
    }
}
