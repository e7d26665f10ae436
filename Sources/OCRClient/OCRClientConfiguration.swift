public import NetworkAddress
public import OCRTaskAPI

/// Everything an ``OCRClient`` needs to know. ``description`` never shows the API key.
public struct OCRClientConfiguration: Sendable, CustomStringConvertible {
    /// The provider's origin, e.g. `https://techhk.aoscdn.com` or `http://127.0.0.1:8080`.
    /// A path prefix is kept (for a provider behind a reverse proxy path).
    public var baseURL: String
    /// Sent as `X-API-KEY` on every provider call (never to other hosts, see
    /// ``OCRClient/downloadResult(from:into:)``).
    public var apiKey: String
    public var sourcePolicy: SourcePolicy
    /// Allow passing `image_url` for loopback, private and link-local hosts: for an
    /// on-premises ocr-server that can reach them. Off by default.
    public var allowNonPublicImageURLs: Bool
    /// Time to establish a connection.
    public var connectTimeout: Duration
    /// Longest silence while waiting for bytes of a reply.
    public var readTimeout: Duration
    /// Deadline of one create or query exchange (URL creates and queries).
    public var requestTimeout: Duration
    /// Deadline of one upload or download (large documents).
    public var transferTimeout: Duration
    /// Documents larger than this are refused before upload (the provider's limit).
    public var maxDocumentBytes: Int64
    /// Replies of create and query larger than this are malformed.
    public var maxReplyBytes: Int
    /// Which addresses the client's own downloads (a source it uploads, a result it
    /// rehosts) may connect to, checked on every redirect hop and on every resolved
    /// address. Loopback and private addresses are allowed by default (documents on a
    /// private store are what the client uploads; a self-hosted provider serves results
    /// from a private address); link-local, metadata, unspecified and reserved addresses
    /// never are (``AddressPolicy``).
    public var downloadPolicy: AddressPolicy
    /// A result file larger than this fails its download (``OCRClientError/Code/resultTooLarge``).
    public var maxResultBytes: Int64
    /// Deadline of a whole result download, head, body and retries included
    /// (``OCRClientError/Code/deadlineExceeded``).
    public var resultDownloadTimeout: Duration
    public var retry: RetryPolicy
    public var budget: TokenBucket.Configuration
    public var userAgent: String

    public init(
        baseURL: String, apiKey: String, sourcePolicy: SourcePolicy = .auto, allowNonPublicImageURLs: Bool = false,
        connectTimeout: Duration = .seconds(5), readTimeout: Duration = .seconds(30),
        requestTimeout: Duration = .seconds(60), transferTimeout: Duration = .seconds(1800),
        maxDocumentBytes: Int64 = TaskAPI.Limit.maxDocumentBytes, maxReplyBytes: Int = 1 << 20,
        retry: RetryPolicy = RetryPolicy(), budget: TokenBucket.Configuration = .init(),
        userAgent: String = "ocr-worker", downloadPolicy: AddressPolicy = .allowingPrivate,
        maxResultBytes: Int64 = 1 << 30, resultDownloadTimeout: Duration = .seconds(900)
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.sourcePolicy = sourcePolicy
        self.allowNonPublicImageURLs = allowNonPublicImageURLs
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.requestTimeout = requestTimeout
        self.transferTimeout = transferTimeout
        self.maxDocumentBytes = maxDocumentBytes
        self.maxReplyBytes = maxReplyBytes
        self.retry = retry
        self.budget = budget
        self.userAgent = userAgent
        self.downloadPolicy = downloadPolicy
        self.maxResultBytes = maxResultBytes
        self.resultDownloadTimeout = resultDownloadTimeout
    }

    public var description: String {
        "OCRClientConfiguration(baseURL: \(RedactedURL.string(baseURL)), apiKey: <redacted>, "
            + "sourcePolicy: \(sourcePolicy.rawValue), rps: \(budget.requestsPerSecond), "
            + "downloadPolicy: \(downloadPolicy), maxResultBytes: \(maxResultBytes), "
            + "resultDownloadTimeout: \(resultDownloadTimeout))"
    }
}
