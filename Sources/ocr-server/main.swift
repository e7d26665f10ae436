import ArgumentParser
import Foundation
import Logging
import JSONLogging
import OCREngine
import OCRServer
import ServiceLifecycle

/// ocr-server: a self-hosted implementation of the PicWish document OCR task API on
/// Tesseract. Every flag also reads an environment variable (flags win).
@main
struct OCRServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr-server",
        abstract: "The PicWish document OCR task API, self-hosted on Tesseract.",
        discussion: """
            Environment (flags win): OCR_SERVER_HOST, OCR_SERVER_PORT, OCR_SERVER_API_KEYS (comma list), \
            OCR_SERVER_DATA_DIR, OCR_SERVER_WORKERS, OCR_SERVER_SIGNING_SECRET, OCR_SERVER_PUBLIC_URL, \
            OCR_SERVER_RATE_LIMIT, OCR_SERVER_RESULT_TTL, OCR_SERVER_TIMEOUT, OCR_SERVER_ALLOW_PRIVATE_SOURCES=1, \
            OCR_SERVER_ALLOW_ANY_PORT=1, OCR_SERVER_DRAIN_TIMEOUT, OCR_SERVER_TASK_DB, OCR_SERVER_STORE, \
            OCR_SERVER_SHARED_DIR, OCR_SERVER_LEASE_SECONDS, OCR_SERVER_REPLICA_ID, LOG_LEVEL.
            Tasks, results and the result-link signing key live in the data directory (0700; files 0600) and \
            survive a restart. On SIGTERM the server drains: creates answer 503 (PicWish envelope, Retry-After) \
            and /readyz 503, tasks on an engine get up to the drain timeout, the rest stay queued for the next \
            start; then it exits 0.
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

    @Option(help: "Address to bind (env OCR_SERVER_HOST).") var host: String?
    @Option(help: "Port to bind; 0 picks a free one (env OCR_SERVER_PORT).") var port: Int?
    @Option(name: .customLong("api-key"), help: "An accepted X-API-KEY; repeatable (env OCR_SERVER_API_KEYS, comma list).")
    var apiKeys: [String] = []
    @Option(help: "Directory for uploads, scratch files and results (env OCR_SERVER_DATA_DIR).") var dataDir: String?
    @Option(help: "Tesseract engines, i.e. tasks processed at once (default: cores; env OCR_SERVER_WORKERS).")
    var workers: Int?
    @Option(help: "Largest upload or download in MB (default 200).") var maxDocumentMb: Int = 200
    @Option(help: "Most pages per document.") var maxPages: Int = 500
    @Option(help: "Most megapixels of one page once decoded, checked from headers before decoding (default 100; env OCR_SERVER_MAX_PAGE_MEGAPIXELS).")
    var maxPageMegapixels: Int?
    @Option(help: "Most megapixels of all pages of a document together (default 5000; env OCR_SERVER_MAX_DOCUMENT_MEGAPIXELS).")
    var maxDocumentMegapixels: Int?
    @Option(help: "Tasks queued or running at once per API key; 429 beyond (default 500; env OCR_SERVER_MAX_PENDING_PER_KEY).")
    var maxPendingPerKey: Int?
    @Option(help: "Uploads in progress at once per API key; 429 beyond (default 8; env OCR_SERVER_MAX_UPLOADS_PER_KEY).")
    var maxUploadsPerKey: Int?
    @Option(help: "Per-key requests per second; 0 = unlimited (env OCR_SERVER_RATE_LIMIT).") var rateLimit: Double?
    @Option(help: "Lifetime of result links and records in seconds (default 3600; env OCR_SERVER_RESULT_TTL).")
    var resultTtl: Double?
    @Option(help: "Processing timeout per task in seconds (default 600; env OCR_SERVER_TIMEOUT).") var timeout: Double?
    @Option(help: "Deadline of a whole image_url download (head and body), in seconds.") var downloadTimeout: Double = 120
    @Option(help: "HMAC secret of result links; if unset, a random key kept in <data-dir>/signing-key (0600; <shared-dir>/signing-key with --store) (env OCR_SERVER_SIGNING_SECRET).")
    var signingSecret: String?
    @Option(help: "Public base URL of result links, e.g. https://ocr.example.com (env OCR_SERVER_PUBLIC_URL).")
    var publicUrl: String?
    @Option(help: "Resolution PDF pages are rasterised at.") var dpi: Int = 300
    @Option(help: "On SIGTERM, how long tasks already running may take to finish before they are handed back to the queue, in seconds (default 30; env OCR_SERVER_DRAIN_TIMEOUT).")
    var drainTimeoutSeconds: Double?
    @Option(help: "Task database: a SQLite file path, or :memory: (tasks forgotten at restart); default <data-dir>/tasks.sqlite (env OCR_SERVER_TASK_DB).")
    var taskDb: String?
    @Option(help: "Shared task store of replicas: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...&schema=...] (password also from PGPASSWORD; env OCR_SERVER_STORE). Needs --shared-dir.")
    var store: String?
    @Option(help: "With --store: the directory every replica mounts, for sources, results and the signing key (env OCR_SERVER_SHARED_DIR).")
    var sharedDir: String?
    @Option(help: "With --store: seconds a replica holds a task it runs without renewing (renewed every third); a killed replica's task is taken over after it (default 30; env OCR_SERVER_LEASE_SECONDS).")
    var leaseSeconds: Double?
    @Option(help: "With --store: this replica's name in leases and logs (default: host name, process id and a random suffix; env OCR_SERVER_REPLICA_ID).")
    var replicaId: String?
    @Flag(help: "Allow image_url hosts resolving to loopback/private addresses; link-local and cloud metadata addresses stay refused (env OCR_SERVER_ALLOW_PRIVATE_SOURCES=1).")
    var allowPrivateSources = false
    @Flag(help: "Development only: allow image_url ports other than 80 and 443 (env OCR_SERVER_ALLOW_ANY_PORT=1).")
    var allowAnyPort = false
    @Flag(help: "Accept the development key on a non-loopback address when no keys are set (env OCR_SERVER_INSECURE_DEV_KEY=1); without it ocr-server refuses to start there.")
    var insecureDevKey = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func flag(_ name: String) -> Bool { ["1", "true", "yes"].contains(env(name)?.lowercased() ?? "") }

        let logger = JSONLogging.bootstrap(level: env("LOG_LEVEL") ?? "info", label: "ocr-server")
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

        var configuredKeys = apiKeys
        if configuredKeys.isEmpty, let list = env("OCR_SERVER_API_KEYS") {
            configuredKeys = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let bindHost = host ?? env("OCR_SERVER_HOST") ?? "127.0.0.1"
        let keys: [String]
        switch StartupKeys.decide(
            keys: configuredKeys, host: bindHost, allowInsecure: insecureDevKey || flag("OCR_SERVER_INSECURE_DEV_KEY"))
        {
        case .configured(let list):
            keys = list
        case .developmentKey:
            keys = [Self.developmentKey]
            logger.warning("no API keys configured: accepting the development key \"\(Self.developmentKey)\" on loopback")
        case .insecureDevelopmentKey:
            keys = [Self.developmentKey]
            logger.critical(
                "no API keys configured: accepting the development key from other machines (--insecure-dev-key)",
                metadata: ["host": "\(bindHost)"])
        case .refuse(let reason):
            logger.critical("refusing to start", metadata: ["reason": "\(reason)"])
            throw ValidationError(reason)
        }
        let secret = signingSecret ?? env("OCR_SERVER_SIGNING_SECRET")
        if secret == nil {
            let place = (store ?? env("OCR_SERVER_STORE")) == nil ? "data" : "shared"
            logger.info("no signing secret configured: using the key file in the \(place) directory")
        }

        var configuration = ServerConfiguration(
            host: bindHost,
            port: port ?? env("OCR_SERVER_PORT").flatMap(Int.init) ?? 8080,
            apiKeys: keys,
            dataDirectory: URL(fileURLWithPath: dataDir ?? env("OCR_SERVER_DATA_DIR") ?? NSTemporaryDirectory() + "/ocr-server"),
            workers: workers ?? env("OCR_SERVER_WORKERS").flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount,
            maxDocumentBytes: Int64(maxDocumentMb) * 1024 * 1024,
            maxPages: maxPages,
            resultLifetime: resultTtl ?? env("OCR_SERVER_RESULT_TTL").flatMap(Double.init) ?? 3600,
            processingTimeout: timeout ?? env("OCR_SERVER_TIMEOUT").flatMap(Double.init) ?? 600,
            downloadTimeout: downloadTimeout,
            requestsPerSecond: rateLimit ?? env("OCR_SERVER_RATE_LIMIT").flatMap(Double.init),
            signingSecret: secret.map { Array($0.utf8) },
            publicBaseURL: publicUrl ?? env("OCR_SERVER_PUBLIC_URL"),
            allowPrivateSources: allowPrivateSources || flag("OCR_SERVER_ALLOW_PRIVATE_SOURCES"),
            allowAnyPort: allowAnyPort || flag("OCR_SERVER_ALLOW_ANY_PORT"),
            rasterDPI: dpi,
            drainTimeout: drainTimeoutSeconds ?? env("OCR_SERVER_DRAIN_TIMEOUT").flatMap(Double.init) ?? 30)
        configuration.taskDatabase = TaskDatabase(argument: taskDb ?? env("OCR_SERVER_TASK_DB"))
        if let url = store ?? env("OCR_SERVER_STORE") {
            do { configuration.taskDatabase = try TaskDatabase(store: url, environment: environment) } catch {
                logger.critical("refusing to start", metadata: ["reason": "\(error)"])
                throw ValidationError("\(error)")
            }
            guard let shared = sharedDir ?? env("OCR_SERVER_SHARED_DIR") else {
                let reason = "--store needs --shared-dir (or OCR_SERVER_SHARED_DIR): a directory every replica mounts"
                logger.critical("refusing to start", metadata: ["reason": "\(reason)"])
                throw ValidationError(reason)
            }
            configuration.sharedDirectory = URL(fileURLWithPath: shared)
            if let lease = leaseSeconds ?? env("OCR_SERVER_LEASE_SECONDS").flatMap(Double.init) {
                configuration.leaseDuration = lease
            }
            configuration.replicaID = replicaId ?? env("OCR_SERVER_REPLICA_ID")
        }
        if let megapixels = maxPageMegapixels ?? env("OCR_SERVER_MAX_PAGE_MEGAPIXELS").flatMap(Int.init) {
            configuration.maxPagePixels = min(max(1, megapixels), 1_000_000_000) * 1_000_000
        }
        if let megapixels = maxDocumentMegapixels ?? env("OCR_SERVER_MAX_DOCUMENT_MEGAPIXELS").flatMap(Int.init) {
            configuration.maxDocumentPixels = min(max(1, megapixels), 1_000_000_000) * 1_000_000
        }
        if let limit = maxPendingPerKey ?? env("OCR_SERVER_MAX_PENDING_PER_KEY").flatMap(Int.init) {
            configuration.maxPendingTasksPerKey = max(1, limit)
        }
        if let limit = maxUploadsPerKey ?? env("OCR_SERVER_MAX_UPLOADS_PER_KEY").flatMap(Int.init) {
            configuration.maxUploadsPerKey = max(1, limit)
        }

        let keyCount = keys.count
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
