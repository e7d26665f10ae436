import Foundation
public import Hummingbird
public import Logging
import NIOCore
import NIOPosix
import OCREngine
import OCRTaskAPI
import ServiceLifecycle
import Synchronization

/// ocr-server: the PicWish document OCR task API on Tesseract (docs/architecture.md, "The OCR task API").
///
/// Routes:
/// - `POST /api/tasks/document/ocr`: create a task (multipart form, `X-API-KEY`).
/// - `GET /api/tasks/document/ocr/{task_id}`: query it (`X-API-KEY`).
/// - `GET /results/{name}?expires=...&signature=...`: the result file (signed link, no key).
/// - `GET /healthz`: liveness; `GET /stats`: counters (JSON).
public enum OCRServer {
    /// Builds the application; run it with a `ServiceGroup` (or `runService()`).
    public static func makeApplication(
        configuration: ServerConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let core = try ServerCore(configuration: configuration, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessLogMiddleware(logger: logger))
        router.get("/healthz") { _, _ in
            core.json(["status": "ok", "office_inputs": core.officeInputs.description], status: .ok)
        }
        router.get("/stats") { _, _ in
            await core.json(core.statsSnapshot(), status: .ok)
        }
        router.post(RouterPath(TaskAPI.createPath)) { request, context in
            await core.create(request, context: context)
        }
        router.get("/api/tasks/document/ocr/:task_id") { request, context in
            core.query(request, context: context)
        }
        router.get("/results/:name") { request, context in
            try await core.result(request, context: context)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ocr-server"),
            services: [ProcessingService(core: core)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}

/// The state and the handlers behind the routes.
final class ServerCore: Sendable {
    let configuration: ServerConfiguration
    let logger: Logger
    let keys: APIKeyRing
    let limiter: RateLimiter?
    let signer: ResultSigner
    let store = TaskStore()
    let stats = ServerStats()
    let pool: OCREnginePool
    let fetcher: SourceFetcher
    let tracker = TaskTracker()
    /// Source downloads in flight at once, outside the engines.
    let downloads: ConcurrencyLimit
    /// Uploads in progress per key.
    let uploads: UploadGate
    let draining = Atomic<Bool>(false)
    /// Whether office documents can be converted here, as the start-up probe found.
    let officeInputs = OfficeInputsStatus()
    let uploadsDirectory: URL
    let resultsDirectory: URL
    let fileIO = FileIO()

    init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        keys = APIKeyRing(keys: configuration.apiKeys)
        limiter = configuration.requestsPerSecond.flatMap { $0 > 0 ? RateLimiter(rate: $0) : nil }
        signer = ResultSigner(secret: configuration.signingSecret)
        pool = OCREnginePool(
            configuration: EngineConfiguration(
                workers: configuration.workers, dataPath: configuration.tessdataPath,
                rasterDPI: configuration.rasterDPI, maxImageSide: configuration.maxImageSide,
                maxPages: configuration.maxPages, maxPagePixels: configuration.maxPagePixels,
                maxDocumentPixels: configuration.maxDocumentPixels, bwrapPath: configuration.bwrapPath),
            logger: logger)
        downloads = ConcurrencyLimit(configuration.concurrentDownloads)
        uploads = UploadGate(limitPerKey: configuration.maxUploadsPerKey)
        fetcher = SourceFetcher(
            allowPrivate: configuration.allowPrivateSources,
            allowAnyPort: configuration.allowAnyPort, maxBytes: configuration.maxDocumentBytes,
            timeout: configuration.downloadTimeout)
        uploadsDirectory = configuration.dataDirectory.appendingPathComponent("tasks")
        resultsDirectory = configuration.dataDirectory.appendingPathComponent("results")
        // Scratch of a previous run is unreachable (records live in memory): start clean.
        try? FileManager.default.removeItem(at: uploadsDirectory)
        // Uploads and results are other people's documents: only this user may read them.
        for directory in [configuration.dataDirectory, uploadsDirectory, resultsDirectory] {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        }
    }

    // MARK: Replies

    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func failure(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        stats.rejected(status.code)
        return json(APIReply<CreatedTask>.failure(status: status.code, message: message), status: status, headers: headers)
    }

    /// Checks `X-API-KEY` and the per-key rate; the key's index, or the reply to send.
    func authorize(_ request: Request) -> Authorization {
        let presented = request.headers.first { $0.name.canonicalName == TaskAPI.apiKeyHeader.lowercased() }?.value
        guard let key = keys.match(presented) else {
            return .failure(failure(.unauthorized, "invalid or missing X-API-KEY"))
        }
        if let limiter, let wait = limiter.acquire(key: key) {
            let seconds = max(1, Int(wait.rounded(.up)))
            return .failure(
                failure(.tooManyRequests, "request rate over the limit for this key", headers: [.retryAfter: String(seconds)]))
        }
        return .success(key)
    }

    enum Authorization {
        case success(Int)
        case failure(Response)
    }

    func statsSnapshot() async -> ServerStats.Snapshot {
        var snapshot = stats.snapshot
        let counts = store.counts()
        snapshot.tasksQueued = counts.queued
        snapshot.tasksRunning = counts.running
        snapshot.tasksStored = counts.stored
        snapshot.workers = configuration.workers
        snapshot.enginesBusy = await pool.busyCount()
        snapshot.uploadsInProgress = uploads.total
        return snapshot
    }

    // MARK: Create

    func create(_ request: Request, context: BasicRequestContext) async -> Response {
        let key: Int
        switch authorize(request) {
        case .success(let index): key = index
        case .failure(let response): return response
        }
        if draining.load(ordering: .relaxed) {
            return failure(.serviceUnavailable, "server is shutting down")
        }
        let reader = FormReader(maxDocumentBytes: configuration.maxDocumentBytes)
        let tooLarge = "file too large: documents up to \(configuration.maxDocumentBytes / 1_048_576) MB are accepted"
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > reader.maxBodyBytes {
            return failure(.contentTooLarge, tooLarge, headers: [.connection: "close"])
        }
        // Admission, O(1) (counters, never a scan): a pending place, in the server's and
        // the key's limits, is reserved before the upload is read and handed to the task
        // once stored; then an upload slot of the key.
        switch store.reserve(
            owner: key, maxPending: configuration.maxPendingTasks, maxPendingPerOwner: configuration.maxPendingTasksPerKey)
        {
        case .server?:
            return failure(.tooManyRequests, "too many tasks pending on this server", headers: [.retryAfter: "5"])
        case .owner?:
            return failure(
                .tooManyRequests,
                "too many tasks pending for this API key (limit \(configuration.maxPendingTasksPerKey)); "
                    + "retry when some have finished",
                headers: [.retryAfter: "5"])
        case nil:
            break
        }
        var reserved = true
        defer { if reserved { store.cancelReservation(owner: key) } }
        guard uploads.tryEnter(key) else {
            return failure(
                .tooManyRequests, "too many uploads in progress for this API key (limit \(uploads.limitPerKey))",
                headers: [.retryAfter: "1"])
        }
        defer { uploads.leave(key) }

        let id = UUID().uuidString.lowercased()
        let taskDirectory = uploadsDirectory.appendingPathComponent(id)
        func discard() { try? FileManager.default.removeItem(at: taskDirectory) }
        let form: ReceivedForm
        do {
            try FileManager.default.createDirectory(
                at: taskDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            form = try await reader.read(
                contentType: request.headers[.contentType], body: request.body,
                destination: taskDirectory.appendingPathComponent("upload"))
        } catch FormError.tooLarge(let detail) {
            discard()
            logger.info("upload rejected: too large", metadata: ["detail": "\(detail)"])
            return failure(.contentTooLarge, tooLarge, headers: [.connection: "close"])
        } catch FormError.invalid(let detail) {
            discard()
            return failure(.badRequest, detail)
        } catch {
            discard()
            return failure(.badRequest, "could not read the request body")
        }

        // Validation, as the real API does it (OCRTaskAPI holds the shared rules).
        let source: SourceFields.Kind
        let options: TaskOptions
        let selection: LanguageSelection
        do {
            source = try SourceFields.resolve(
                imageURL: form.fields[TaskAPI.Field.imageURL], fileFieldNames: form.fileFieldNames)
            options = try TaskOptions(
                language: form.fields[TaskAPI.Field.language], password: form.fields[TaskAPI.Field.password],
                format: form.fields[TaskAPI.Field.format])
            if let format = form.fields[TaskAPI.Field.format], !format.isEmpty, OutputFormat(rawValue: format) == nil {
                // The real API is case-sensitive here: "PDF" is not a format.
                throw TaskRequestError(
                    code: .invalidFormat, field: TaskAPI.Field.format, reason: "must be one of txt, pdf, docx, xlsx, pptx")
            }
            if case .url(let url) = source, !configuration.allowAnyPort,
                let violation = url.imageURLViolation(allowingNonPublicHosts: true)
            {
                throw violation
            }
            if case .file = source, form.fileBytes == 0 {
                throw TaskRequestError(code: .invalidFile, field: TaskAPI.Field.imageFile, reason: "the uploaded file is empty")
            }
            switch LanguageSelection.resolve(names: options.languages.names, dataPath: configuration.tessdataPath) {
            case .success(let resolved): selection = resolved
            case .failure(let problem):
                throw TaskRequestError(code: .invalidLanguage, field: TaskAPI.Field.language, reason: problem.description)
            }
        } catch {
            discard()
            return failure(.badRequest, (error as? TaskRequestError)?.description ?? "invalid request")
        }

        store.insert(
            StoredTask(id: id, owner: key, state: .queued, progress: 0, format: options.format, createdAt: Date()),
            reserved: true)
        reserved = false
        stats.record { $0.tasksCreated += 1 }
        let sourceDescription: String
        let input: TaskInput
        switch source {
        case .url(let url):
            input = .url(url)
            sourceDescription = url.description
        case .file(let field):
            input = .file(taskDirectory.appendingPathComponent("upload"))
            sourceDescription = "\(field) (\(form.fileBytes) bytes)"
        }
        logger.info(
            "task created",
            metadata: [
                "task_id": "\(id)", "format": "\(options.format.rawValue)", "languages": "\(selection)",
                "source": "\(sourceDescription)", "key": "\(key)",
            ])
        let job = TaskInputJob(
            id: id, input: input, selection: selection, password: options.password, format: options.format,
            directory: taskDirectory)
        tracker.start(id: id) { await self.run(job) }
        return json(APIReply.success(CreatedTask(taskID: id)), status: .ok)
    }

    // MARK: Query

    func query(_ request: Request, context: BasicRequestContext) -> Response {
        let key: Int
        switch authorize(request) {
        case .success(let index): key = index
        case .failure(let response): return response
        }
        guard let id = context.parameters.get("task_id"), let task = store.get(id), task.owner == key else {
            return failure(.notFound, "task not found")
        }
        let base = baseURL(for: request)
        let record = task.record { name, expires in
            base + self.signer.link(name: name, expires: Int64(expires.timeIntervalSince1970))
        }
        return json(APIReply.success(record), status: .ok)
    }

    /// Where result links point: the configured public URL, else the host the client used.
    func baseURL(for request: Request) -> String {
        if let configured = configuration.publicBaseURL, !configured.isEmpty {
            return configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        if let authority = request.head.authority, !authority.isEmpty, authority.allSatisfy(allowed.contains) {
            return "http://" + authority
        }
        return "http://\(configuration.host):\(configuration.port)"
    }

    // MARK: Results

    func result(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard let name = context.parameters.get("name"), !name.hasPrefix("."), name.allSatisfy(allowed.contains),
            let format = name.split(separator: ".").last.flatMap({ OutputFormat(rawValue: String($0)) })
        else {
            return failure(.notFound, "result not found")
        }
        let query = request.uri.queryParameters
        switch signer.verify(name: name, expires: query.get("expires"), signature: query.get("signature")) {
        case .forged: return failure(.forbidden, "invalid result link signature")
        case .expired: return failure(.forbidden, "result link expired")
        case .valid: break
        }
        let path = resultsDirectory.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else { return failure(.notFound, "result not found") }
        stats.record { $0.resultDownloads += 1 }
        let body = try await fileIO.loadFile(path: path, context: context)
        return Response(
            status: .ok,
            headers: [
                .contentType: format.contentType, .contentDisposition: "attachment; filename=\"\(name)\"",
                .cacheControl: "private, max-age=3600",
            ],
            body: body)
    }

    // MARK: Processing

    enum TaskInput: Sendable {
        case file(URL)
        case url(DocumentURL)
    }

    struct TaskInputJob: Sendable {
        var id: String
        var input: TaskInput
        var selection: LanguageSelection
        var password: String?
        var format: OutputFormat
        var directory: URL
    }

    func run(_ job: TaskInputJob) async {
        let id = job.id
        let cancel = CancelFlag()
        let started = ContinuousClock.now
        do {
            guard let format = ResultFormat(rawValue: job.format.rawValue) else {
                throw OCRFailure.failed("unsupported format")
            }
            let name = "\(id).\(job.format.rawValue)"
            let output = resultsDirectory.appendingPathComponent(name)
            func ocrJob(_ document: URL) -> OCRJob {
                OCRJob(
                    input: document, languages: job.selection, password: job.password, format: format,
                    output: output, workDirectory: job.directory.appendingPathComponent("work"),
                    deadline: .now + .milliseconds(Int64(configuration.processingTimeout * 1000)))
            }
            // Download and preparation (decrypting, office conversion, counting pages) run
            // before an engine is taken, with their own limits: a slow source never holds
            // an engine. The task stays queued (state 0) until it has one.
            let document: URL
            switch job.input {
            case .file(let url):
                document = url
            case .url(let url):
                document = job.directory.appendingPathComponent("download")
                _ = try await downloads.withPermit { try await fetcher.download(url, to: document) }
            }
            let prepared = try await pool.prepare(ocrJob(document), cancel: cancel)
            try await pool.withSlot { slot in
                store.update(id) {
                    $0.state = .preparing
                    $0.processedAt = Date()
                }
                let store = store
                // The processing deadline starts when the engine does.
                let outcome = try await pool.process(prepared, ocrJob(document), in: slot, cancel: cancel) { phase in
                    store.update(id) { task in
                        switch phase {
                        case .waiting:
                            task.state = .waiting
                        case .processing(let done, let total):
                            task.state = .processing
                            task.progress = min(99, total == 0 ? 0 : done * 100 / total)
                        }
                    }
                }
                try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: output.path)
                let now = Date()
                store.update(id) {
                    $0.state = .success
                    $0.progress = 100
                    $0.completedAt = now
                    $0.resultName = name
                    $0.expiresAt = now.addingTimeInterval(configuration.resultLifetime)
                    $0.detail = nil
                }
                stats.record {
                    $0.tasksSucceeded += 1
                    $0.pagesProcessed += outcome.pageCount
                }
                logger.info(
                    "task succeeded",
                    metadata: [
                        "task_id": "\(id)", "pages": "\(outcome.pageCount)", "bytes": "\(outcome.outputBytes)",
                        "seconds": "\(Self.seconds(since: started))",
                    ])
            }
        } catch let failure as FetchFailure {
            switch failure {
            case .download(let detail): fail(id, .sourceDownloadFailed, detail)
            case .tooLarge(let detail): fail(id, .tooLarge, detail)
            }
        } catch let failure as OCRFailure {
            switch failure {
            case .invalidDocument(let detail): fail(id, .invalidFile, detail)
            case .tooLarge(let detail): fail(id, .tooLarge, detail)
            case .timeout(let detail): fail(id, .processingTimeout, "\(detail) (limit \(Int(configuration.processingTimeout)) s)")
            case .cancelled: fail(id, .failed, "cancelled: the server is shutting down")
            case .unavailable(let detail):
                logger.error("task failed: the server could not run a helper", metadata: ["task_id": "\(id)", "reason": "\(detail)"])
                fail(id, .failed, detail)
            case .failed(let detail): fail(id, .failed, detail)
            }
        } catch is CancellationError {
            fail(id, .failed, "cancelled: the server is shutting down")
        } catch {
            fail(id, .failed, "processing failed: \(error)")
        }
        try? FileManager.default.removeItem(at: job.directory)
    }

    private func fail(_ id: String, _ state: TaskState, _ detail: String) {
        let now = Date()
        store.update(id) {
            $0.state = state
            $0.completedAt = now
            $0.detail = detail
            $0.expiresAt = now.addingTimeInterval(configuration.resultLifetime)
        }
        stats.record {
            $0.tasksFailed += 1
            $0.failuresByState[String(state.rawValue), default: 0] += 1
        }
        logger.info("task failed", metadata: ["task_id": "\(id)", "state": "\(state.rawValue)", "detail": "\(detail)"])
    }

    static func seconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        return String(format: "%.2f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    // MARK: Start-up checks

    /// Runs the office sandbox once with a trivial command (off the cooperative pool) and
    /// records the outcome; warns when office inputs will fail, so an operator learns it
    /// at start-up rather than from the first office task.
    func checkOfficeSandbox() async {
        let directory = configuration.dataDirectory.appendingPathComponent("sandbox-probe")
        let bwrap = configuration.bwrapPath
        let reason: String?
        do {
            reason = try await NIOThreadPool.singleton.runIfActive { OfficeSandbox(directory: directory, bwrap: bwrap).probe() }
        } catch {
            reason = "the sandbox probe did not run: \(error)"
        }
        if let reason {
            officeInputs.set(.unavailable(reason))
            logger.warning("office inputs unavailable: \(reason)")
        } else {
            officeInputs.set(.available)
        }
    }

    // MARK: Sweeping

    /// Deletes expired task records and their results, and result files nobody refers to
    /// any more (left by an earlier run) once they are older than the link lifetime.
    func sweep(now: Date = Date()) {
        let expired = store.removeExpired(now: now, retention: configuration.resultLifetime)
        for task in expired {
            if let name = task.resultName {
                try? FileManager.default.removeItem(at: resultsDirectory.appendingPathComponent(name))
            }
        }
        let cutoff = now.addingTimeInterval(-configuration.resultLifetime)
        if let names = try? FileManager.default.contentsOfDirectory(atPath: resultsDirectory.path) {
            for name in names {
                let path = resultsDirectory.appendingPathComponent(name).path
                let id = String(name.split(separator: ".").first ?? "")
                guard store.get(id) == nil,
                    let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                    modified < cutoff
                else { continue }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        if !expired.isEmpty {
            stats.record { $0.tasksSwept += expired.count }
            logger.info("swept expired tasks", metadata: ["count": "\(expired.count)"])
        }
    }
}

/// Running task processors, so shutdown can wait for them and then cancel the rest.
final class TaskTracker: Sendable {
    private let tasks = Mutex<[String: Task<Void, Never>]>([:])

    func start(id: String, _ operation: @escaping @Sendable () async -> Void) {
        tasks.withLock { tasks in
            tasks[id] = Task {
                await operation()
                self.finished(id)
            }
        }
    }

    private func finished(_ id: String) { _ = tasks.withLock { $0.removeValue(forKey: id) } }

    var count: Int { tasks.withLock { $0.count } }

    /// Waits up to `timeout` for running tasks, then cancels what is left and waits for it
    /// to unwind.
    func drain(timeout: TimeInterval) async {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while count > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
        let remaining = tasks.withLock { Array($0.values) }
        for task in remaining { task.cancel() }
        for task in remaining { await task.value }
    }
}

/// Sweeps expired results while the server runs; on shutdown stops new tasks, drains
/// running ones, and stops the engines and the download client.
struct ProcessingService: Service {
    let core: ServerCore

    func run() async throws {
        await core.checkOfficeSandbox()
        let interval = core.configuration.sweepInterval
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                core.sweep()
            }
        }
        core.draining.store(true, ordering: .relaxed)
        core.logger.info("shutting down: draining tasks", metadata: ["running": "\(core.tracker.count)"])
        await core.tracker.drain(timeout: Task.isCancelled ? 0 : core.configuration.drainTimeout)
        await core.pool.shutdown()
        core.logger.info("processing stopped")
    }
}

/// One log line per request: method, path (never the query, which may hold a signature),
/// status and duration.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                    "status": "\(response.status.code)", "seconds": "\(ServerCore.seconds(since: start))",
                ])
            return response
        } catch {
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                    "status": "\((error as? any HTTPResponseError)?.status.code ?? 500)",
                    "seconds": "\(ServerCore.seconds(since: start))",
                ])
            throw error
        }
    }
}
