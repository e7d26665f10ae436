import ArgumentParser
import Foundation
import JSONLogging
import Logging
import OCREngine
import OCRServer
import ServiceLifecycle

/// ocr-server: a self-hosted implementation of the PicWish document OCR task API on
/// Tesseract. Every flag also reads an environment variable and a line of the `--config`
/// file (flags win, then the environment, then the file): ``ServerSettings``.
@main
struct OCRServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr-server",
        abstract: "The PicWish document OCR task API, self-hosted on Tesseract.",
        discussion: """
            Every option also reads the environment variable named in its help (flags win), and a NAME=value \
            line of the --config file (OCR_SERVER_CONFIG) after that. Numbers are range-checked: a value out of \
            range stops the start with the setting's name. Kubernetes service-link variables (OCR_SERVER_PORT, \
            OCR_SERVER_PORT_*, OCR_SERVER_SERVICE_*) are not settings and are ignored.
            Tasks, results and the result-link key live in the data directory (0700; files 0600; a volume root \
            the server does not own, such as Kubernetes mounts with fsGroup, is used as found when it may write \
            it and others may not) and survive a restart. On SIGTERM the server drains: creates answer 503 \
            (PicWish envelope, Retry-After) and /readyz 503, tasks on an engine get up to the drain timeout, the \
            rest stay queued for the next start; then it exits 0.
            Replicas: with --store postgres://... and --shared-dir on storage every replica mounts, any number \
            of replicas behind one address share tasks: any replica answers any task, engines claim queued \
            tasks from PostgreSQL, a task whose replica died is taken over when its lease expires, and on \
            SIGTERM a replica hands its tasks back to the others.
            Without API keys the development key "dev-key" is accepted on a loopback address (and a warning \
            logged); on any other address ocr-server refuses to start unless --insecure-dev-key is given. \
            Tesseract runs one OpenMP thread per engine: ocr-server re-executes itself once with \
            OMP_THREAD_LIMIT=1 when the variable is not already 1.
            """)

    static let developmentKey = "dev-key"

    /// Decided first thing in ``main()``: one OpenMP thread per engine (see ``OpenMP``).
    static let openMPDecision = OpenMP.ensureOneThreadPerEngine()

    /// Makes sure the process runs with `OMP_THREAD_LIMIT=1` (re-executing itself once
    /// if not) before anything else, then parses the command line and runs.
    static func main() async {
        _ = openMPDecision
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    @Option(help: "A file of NAME=value lines (the environment's names). Env: OCR_SERVER_CONFIG") var config: String?
    @Option(help: "Address to bind (default 127.0.0.1). Env: OCR_SERVER_HTTP_HOST") var host: String?
    @Option(help: "Port to bind; 0 picks a free one (default 8080). Env: OCR_SERVER_HTTP_PORT") var port: String?
    @Option(name: .customLong("api-key"), help: "An accepted X-API-KEY; repeatable. Env: OCR_SERVER_API_KEYS (comma list)")
    var apiKeys: [String] = []
    @Option(help: "Directory for uploads, scratch files and results. Env: OCR_SERVER_DATA_DIR") var dataDir: String?
    @Option(help: "Tesseract engines, i.e. tasks processed at once, 1-256 (default: cores). Env: OCR_SERVER_WORKERS")
    var workers: String?
    @Option(help: "Largest upload or download in MB, 1-8192 (default 200). Env: OCR_SERVER_MAX_DOCUMENT_MB")
    var maxDocumentMb: String?
    @Option(help: "Most pages per document (default 500). Env: OCR_SERVER_MAX_PAGES") var maxPages: String?
    @Option(help: "Most megapixels of one page once decoded, checked before decoding (default 100). Env: OCR_SERVER_MAX_PAGE_MEGAPIXELS")
    var maxPageMegapixels: String?
    @Option(help: "Most megapixels of all pages of a document together (default 5000). Env: OCR_SERVER_MAX_DOCUMENT_MEGAPIXELS")
    var maxDocumentMegapixels: String?
    @Option(help: "Tasks queued or running at once; 429 beyond (default 1000). Env: OCR_SERVER_MAX_PENDING")
    var maxPending: String?
    @Option(help: "Tasks queued or running at once per API key; 429 beyond (default 500). Env: OCR_SERVER_MAX_PENDING_PER_KEY")
    var maxPendingPerKey: String?
    @Option(help: "Uploads in progress at once per API key; 429 beyond (default 8). Env: OCR_SERVER_MAX_UPLOADS_PER_KEY")
    var maxUploadsPerKey: String?
    @Option(help: "image_url downloads at once, shared fairly among keys (default 8). Env: OCR_SERVER_DOWNLOADS")
    var downloads: String?
    @Option(help: "Per-key requests per second; 0 = unlimited (default). Env: OCR_SERVER_RATE_LIMIT") var rateLimit: String?
    @Option(help: "Lifetime of result links and records in seconds (default 3600). Env: OCR_SERVER_RESULT_TTL")
    var resultTtl: String?
    @Option(help: "Processing timeout per task in seconds (default 600). Env: OCR_SERVER_TIMEOUT") var timeout: String?
    @Option(help: "Deadline of a whole image_url download (head and body) in seconds (default 120). Env: OCR_SERVER_DOWNLOAD_TIMEOUT")
    var downloadTimeout: String?
    @Option(help: "Longest wait for an image_url host's name to resolve, in seconds (default 10). Env: OCR_SERVER_DNS_TIMEOUT")
    var dnsTimeout: String?
    @Option(
        help:
            "Runs a task may start without finishing (the server stopped under it) before it fails with state -8 (default 3). Env: OCR_SERVER_MAX_ATTEMPTS"
    )
    var maxAttempts: String?
    @Option(
        help:
            "HMAC secret of result links; if unset, a random key kept in <data-dir>/signing-key (0600; <shared-dir>/signing-key with --store). Env: OCR_SERVER_SIGNING_SECRET"
    )
    var signingSecret: String?
    @Option(help: "Public base URL of result links, e.g. https://ocr.example.com. Env: OCR_SERVER_PUBLIC_URL")
    var publicUrl: String?
    @Option(
        help:
            "Peers whose X-Forwarded-Proto / Forwarded proto= make result links https: none, or a comma list of private, addresses and networks (default private). Env: OCR_SERVER_TRUSTED_PROXIES"
    )
    var trustedProxies: String?
    @Option(help: "Resolution PDF pages are rasterised at, 36-1200 (default 300). Env: OCR_SERVER_DPI") var dpi: String?
    @Option(
        help:
            "On SIGTERM, how long tasks already running may take to finish before they are handed back to the queue, in seconds (default 30). Env: OCR_SERVER_DRAIN_TIMEOUT"
    )
    var drainTimeoutSeconds: String?
    @Option(
        help: "Task database: a SQLite file path, or :memory: (tasks forgotten at restart); default <data-dir>/tasks.sqlite. Env: OCR_SERVER_TASK_DB")
    var taskDb: String?
    @Option(
        help:
            "Shared task store of replicas: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...&schema=...] (password also from PGPASSWORD). Needs --shared-dir. Env: OCR_SERVER_STORE"
    )
    var store: String?
    @Option(help: "With --store: the directory every replica mounts, for sources, results and the signing key. Env: OCR_SERVER_SHARED_DIR")
    var sharedDir: String?
    @Option(
        help:
            "With --store: seconds a replica holds a task it runs without renewing (renewed every third); a killed replica's task is taken over after it (default 30). Env: OCR_SERVER_LEASE_SECONDS"
    )
    var leaseSeconds: String?
    @Option(
        help: "With --store: this replica's name in leases and logs (default: host name, process id and a random suffix). Env: OCR_SERVER_REPLICA_ID")
    var replicaId: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (default info). Env: OCR_SERVER_LOG_LEVEL")
    var logLevel: String?
    @Flag(
        help:
            "Allow image_url hosts resolving to loopback/private addresses; link-local and cloud metadata addresses stay refused. Env: OCR_SERVER_ALLOW_PRIVATE_SOURCES"
    )
    var allowPrivateSources = false
    @Flag(help: "Development only: allow image_url ports other than 80 and 443. Env: OCR_SERVER_ALLOW_ANY_PORT")
    var allowAnyPort = false
    @Flag(
        help:
            "Accept the development key on a non-loopback address when no keys are set; without it ocr-server refuses to start there. Env: OCR_SERVER_INSECURE_DEV_KEY"
    )
    var insecureDevKey = false

    /// The flags by setting name, as typed (``ServerSettings`` converts them).
    var flags: [String: String?] {
        [
            "OCR_SERVER_HTTP_HOST": host, "OCR_SERVER_HTTP_PORT": port,
            "OCR_SERVER_API_KEYS": apiKeys.isEmpty ? nil : apiKeys.joined(separator: ","),
            "OCR_SERVER_DATA_DIR": dataDir, "OCR_SERVER_WORKERS": workers, "OCR_SERVER_MAX_DOCUMENT_MB": maxDocumentMb,
            "OCR_SERVER_MAX_PAGES": maxPages, "OCR_SERVER_MAX_PAGE_MEGAPIXELS": maxPageMegapixels,
            "OCR_SERVER_MAX_DOCUMENT_MEGAPIXELS": maxDocumentMegapixels, "OCR_SERVER_MAX_PENDING": maxPending,
            "OCR_SERVER_MAX_PENDING_PER_KEY": maxPendingPerKey, "OCR_SERVER_MAX_UPLOADS_PER_KEY": maxUploadsPerKey,
            "OCR_SERVER_DOWNLOADS": downloads, "OCR_SERVER_RATE_LIMIT": rateLimit, "OCR_SERVER_RESULT_TTL": resultTtl,
            "OCR_SERVER_TIMEOUT": timeout, "OCR_SERVER_DOWNLOAD_TIMEOUT": downloadTimeout,
            "OCR_SERVER_DNS_TIMEOUT": dnsTimeout, "OCR_SERVER_MAX_ATTEMPTS": maxAttempts,
            "OCR_SERVER_SIGNING_SECRET": signingSecret, "OCR_SERVER_PUBLIC_URL": publicUrl,
            "OCR_SERVER_TRUSTED_PROXIES": trustedProxies, "OCR_SERVER_DPI": dpi,
            "OCR_SERVER_DRAIN_TIMEOUT": drainTimeoutSeconds, "OCR_SERVER_TASK_DB": taskDb, "OCR_SERVER_STORE": store,
            "OCR_SERVER_SHARED_DIR": sharedDir, "OCR_SERVER_LEASE_SECONDS": leaseSeconds,
            "OCR_SERVER_REPLICA_ID": replicaId, "OCR_SERVER_LOG_LEVEL": logLevel,
            "OCR_SERVER_ALLOW_PRIVATE_SOURCES": allowPrivateSources ? "true" : nil,
            "OCR_SERVER_ALLOW_ANY_PORT": allowAnyPort ? "true" : nil,
            "OCR_SERVER_INSECURE_DEV_KEY": insecureDevKey ? "true" : nil,
        ]
    }

    func run() async throws {
        let settings: ServerSettings
        do { settings = try await ServerSettings(file: config, flags: flags) } catch { throw ValidationError("\(error)") }
        let logger = JSONLogging.bootstrap(level: settings.logLevel, label: "ocr-server")
        for notice in settings.notices { logger.warning("\(notice)") }
        let openMP = OpenMP.effective
        switch Self.openMPDecision {
        case .alreadySet, .reexecuted:
            if openMP.isSingleThreaded {
                logger.info("OpenMP: one thread per engine", metadata: ["openmp": "\(openMP)"])
            } else {
                logger.error("OpenMP: more than one thread per engine; pages will be slow", metadata: ["openmp": "\(openMP)"])
            }
        case .reexecFailed(let reason):
            logger.error(
                "OpenMP: could not limit engines to one thread; pages will be slow",
                metadata: ["openmp": "\(openMP)", "reason": "\(reason)"])
        }

        let configuration: ServerConfiguration
        do {
            let keys: [String]
            switch StartupKeys.decide(keys: settings.apiKeys, host: settings.host, allowInsecure: try settings.allowsInsecureDevKey) {
            case .configured(let list):
                keys = list
            case .developmentKey:
                keys = [Self.developmentKey]
                logger.warning("no API keys configured: accepting the development key \"\(Self.developmentKey)\" on loopback")
            case .insecureDevelopmentKey:
                keys = [Self.developmentKey]
                logger.critical(
                    "no API keys configured: accepting the development key from other machines (--insecure-dev-key)",
                    metadata: ["host": "\(settings.host)"])
            case .refuse(let reason):
                throw ServerSettingsError(reason)
            }
            configuration = try settings.configuration(apiKeys: keys)
        } catch {
            logger.critical("refusing to start", metadata: ["reason": "\(error)"])
            throw ValidationError("\(error)")
        }
        if configuration.signingSecret == nil {
            let place = configuration.taskDatabase.isShared ? "shared" : "data"
            logger.info("no signing secret configured: using the key file in the \(place) directory")
        }

        let keyCount = configuration.apiKeys.count
        let app = try await OCRServer.makeApplication(configuration: configuration, logger: logger) { [configuration] port in
            logger.info(
                "listening",
                metadata: [
                    "host": "\(configuration.host)", "port": "\(port)", "workers": "\(configuration.workers)",
                    "keys": "\(keyCount)",
                ])
        }
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
