public import Foundation
import OCREngine

/// Everything ocr-server can be told; ``ServerSettings`` fills it from flags, environment
/// and the configuration file.
public struct ServerConfiguration: Sendable {
    /// Address to bind.
    public var host: String
    /// Port to bind; 0 picks a free one (tests).
    public var port: Int
    /// Accepted `X-API-KEY` values. Never logged.
    public var apiKeys: [String]
    /// Uploads, downloads, scratch files and results live here.
    public var dataDirectory: URL
    /// Tesseract engines (tasks processed at once).
    public var workers: Int
    /// Largest upload or downloaded document (PicWish: 200 MB); 413 on upload, -5 on download.
    public var maxDocumentBytes: Int64
    /// Largest image side (PicWish: 32512); state -5 beyond.
    public var maxImageSide: Int
    /// Most pages of one document; state -5 beyond.
    public var maxPages: Int
    /// Most pixels of one page once decoded (images by their headers, PDF pages at the
    /// resolution they are rasterised at), checked before decoding; state -5 beyond.
    public var maxPagePixels: Int = EngineConfiguration.defaultMaxPagePixels
    /// Most pixels of all pages of a document together; state -5 beyond.
    public var maxDocumentPixels: Int = EngineConfiguration.defaultMaxDocumentPixels
    /// How long result links stay valid; results and task records are swept afterwards.
    public var resultLifetime: TimeInterval
    /// Processing deadline of a task once it has an engine; state -8 beyond.
    public var processingTimeout: TimeInterval
    /// Deadline of a whole `image_url` download, head and body; state -3 beyond.
    public var downloadTimeout: TimeInterval
    /// `image_url` downloads in flight at once (they never hold an engine).
    public var concurrentDownloads: Int
    /// Requests per second per API key; `nil` or 0 means no limit (429 beyond).
    public var requestsPerSecond: Double?
    /// Tasks queued or running at once; 429 beyond.
    public var maxPendingTasks: Int
    /// Tasks queued or running at once per API key (tasks being uploaded count); 429
    /// beyond, so one key cannot fill the server's queue for every other key.
    public var maxPendingTasksPerKey: Int = 500
    /// Uploads one API key may have in progress at once; 429 beyond.
    public var maxUploadsPerKey: Int = 8
    /// HMAC key of the result links. When `nil`, the key is the file `signing-key` in the
    /// data directory (the shared directory with a shared store, so every replica has the
    /// same key; 32 random bytes, created 0600 on first start), so links made before a
    /// restart still verify after it.
    public var signingSecret: [UInt8]?
    /// Where task records are kept (default: a SQLite file in the data directory).
    public var taskDatabase: TaskDatabase = .dataDirectory
    /// Base of the result links (`https://ocr.example.com`); when `nil`, the `Host` header
    /// of the query request is used, with the scheme ``trustedProxies`` decide.
    public var publicBaseURL: String?
    /// Allow `image_url` hosts that resolve to loopback or private addresses. Link-local,
    /// cloud metadata and reserved addresses stay refused (``AddressPolicy``).
    public var allowPrivateSources: Bool
    /// Allow `image_url` ports other than 80 and 443 (development only).
    public var allowAnyPort: Bool
    /// How often expired results and records are swept.
    public var sweepInterval: TimeInterval
    /// Language data directory.
    public var tessdataPath: String
    /// Resolution PDF pages are rasterised at.
    public var rasterDPI: Int
    /// How long shutdown waits for running tasks before handing them back (they stay
    /// queued in the task store and run at the next start).
    public var drainTimeout: TimeInterval
    /// The bubblewrap executable of the office sandbox (a name on PATH, or a path).
    public var bwrapPath: String = "bwrap"
    /// How long an `image_url` host's name may take to resolve; state -3 beyond.
    public var resolveTimeout: TimeInterval = 10
    /// Runs a task may start without ending (the server crashed or was killed while it
    /// ran) before it fails with state -8 instead of running again.
    public var maxAttempts: Int = 3
    /// Peers whose `X-Forwarded-Proto` / `Forwarded: proto=` decide the scheme of result
    /// links when ``publicBaseURL`` is not set.
    public var trustedProxies: TrustedProxies = .privateNetworks

    // MARK: Replicas (a shared task store)

    /// With a shared ``taskDatabase`` (PostgreSQL): the directory every replica mounts
    /// (shared storage), holding each task's source and job file (`tasks/`), the results
    /// (`results/`) and, unless ``signingSecret`` is set, the result-link key
    /// (`signing-key`). Required then; ignored otherwise. Scratch files stay in
    /// ``dataDirectory``.
    public var sharedDirectory: URL?
    /// How long a replica's hold on a task it runs lasts without renewal; renewed every
    /// third of it. A replica killed mid-task has the task taken over once it expires.
    public var leaseDuration: TimeInterval = 30
    /// This replica's name in leases; nil: host name, process id and a random suffix
    /// (a name must not be reused by a later process).
    public var replicaID: String?
    /// How often an idle replica looks for queued tasks in the shared store (a task created
    /// on this replica wakes it at once).
    public var claimInterval: TimeInterval = 1

    /// The lease bounded to 1 s ... 1 day.
    var effectiveLease: TimeInterval { leaseDuration.isFinite ? min(max(1, leaseDuration), 86_400) : 30 }

    public init(
        host: String = "127.0.0.1", port: Int = 8080, apiKeys: [String] = [],
        dataDirectory: URL = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ocr-server"),
        workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        maxDocumentBytes: Int64 = 200 * 1024 * 1024, maxImageSide: Int = 32512, maxPages: Int = 500,
        resultLifetime: TimeInterval = 3600, processingTimeout: TimeInterval = 600,
        downloadTimeout: TimeInterval = 120, concurrentDownloads: Int = 8, requestsPerSecond: Double? = nil, maxPendingTasks: Int = 1000,
        signingSecret: [UInt8]? = nil, publicBaseURL: String? = nil, allowPrivateSources: Bool = false,
        allowAnyPort: Bool = false, sweepInterval: TimeInterval = 60,
        tessdataPath: String? = nil, rasterDPI: Int = 300, drainTimeout: TimeInterval = 30
    ) {
        self.host = host
        self.port = port
        self.apiKeys = apiKeys
        self.dataDirectory = dataDirectory
        self.workers = max(1, workers)
        self.maxDocumentBytes = maxDocumentBytes
        self.maxImageSide = maxImageSide
        self.maxPages = maxPages
        self.resultLifetime = resultLifetime
        self.processingTimeout = processingTimeout
        self.downloadTimeout = downloadTimeout
        self.concurrentDownloads = max(1, concurrentDownloads)
        self.requestsPerSecond = requestsPerSecond
        self.maxPendingTasks = maxPendingTasks
        self.signingSecret = signingSecret
        self.publicBaseURL = publicBaseURL
        self.allowPrivateSources = allowPrivateSources
        self.allowAnyPort = allowAnyPort
        self.sweepInterval = sweepInterval
        self.tessdataPath = tessdataPath ?? OCRLanguage.defaultDataPath
        self.rasterDPI = rasterDPI
        // Up to a day; not a number (a bad flag) means the default.
        self.drainTimeout = drainTimeout.isFinite ? min(max(0, drainTimeout), 86_400) : 30
    }
}

/// What to do about API keys at start-up.
public enum StartupKeys: Sendable, Equatable {
    /// Use the configured keys.
    case configured([String])
    /// No keys, on a loopback address: accept the development key (and warn).
    case developmentKey
    /// No keys, the insecure flag given: accept the development key (and warn loudly).
    case insecureDevelopmentKey
    /// No keys on an address other machines reach: refuse to start.
    case refuse(String)

    /// Decides from the configured keys, the address to bind and the explicit insecure flag.
    public static func decide(keys: [String], host: String, allowInsecure: Bool) -> StartupKeys {
        if !keys.isEmpty { return .configured(keys) }
        if isLoopback(host) { return .developmentKey }
        if allowInsecure { return .insecureDevelopmentKey }
        return .refuse(
            "no API keys configured and \(host) is not a loopback address: set OCR_SERVER_API_KEYS (or --api-key), "
                + "or pass --insecure-dev-key to accept the development key from other machines")
    }

    /// `localhost`, 127.0.0.0/8 and ::1.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.first == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
