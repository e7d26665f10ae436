import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import OCREngine
import OCRTaskAPI
import Permits
import Synchronization

/// The state behind the routes (tasks, keys, limits, engines) and the processing of tasks;
/// the controllers (``TasksController``, ``ResultsController``, ``HealthController``) answer
/// requests with it.
final class ServerCore: Sendable {
    let configuration: ServerConfiguration
    let logger: Logger
    let keys: APIKeyRing
    let limiter: RateLimiter?
    let signer: ResultSigner
    let store: TaskStore
    /// Tasks queued or running when the previous process stopped, found at start-up;
    /// ``resumeUnfinished()`` runs them again (or fails those whose source is gone). Empty
    /// with a shared store: there, expired leases hand such tasks to whichever replica
    /// claims them (``TaskClaimer``).
    let unfinishedAtStart: [StoredTask]
    /// The store replicas share, when there is one.
    var shared: (any SharedTaskRepository)? { store.shared }
    /// Wakes the ``TaskClaimer`` (a task was created here, or a runner finished).
    let claimSignal = WakeSignal()
    /// Tasks whose lease another replica took over while this one ran them: their runners
    /// are cancelled and leave the task (and its source) alone.
    let lostLeases = Mutex<Set<String>>([])
    /// Tasks on an engine now. With a shared store the drain hands every other task back
    /// at once, so another replica starts it without waiting for the drain timeout.
    let onEngine = Mutex<Set<String>>([])
    let stats = ServerStats()
    let pool: OCREnginePool
    let fetcher: SourceFetcher
    let tracker = TaskTracker()
    let metrics = ServerMetrics()
    /// Source downloads in flight at once, outside the engines, shared fairly among keys;
    /// one key's slow sources never hold every download (``PermitQueue``).
    let downloads: PermitQueue
    /// Preparations (decrypting, office conversion, counting pages) and engines, each
    /// shared fairly among keys: a key's first task runs ahead of another key's backlog.
    let preparations: PermitQueue
    let engines: PermitQueue
    /// Uploads in progress per key.
    let uploads: UploadGate
    /// Set on SIGTERM: creates answer 503, `/readyz` says not ready, and tasks that have
    /// not started are handed back (left queued for the next start).
    let draining = Atomic<Bool>(false)
    /// Whether office documents can be converted here, as the start-up probe found.
    let officeInputs = OfficeInputsStatus()
    /// Each task's source and job file (`tasks/<id>/`): in the shared directory with a
    /// shared store, so any replica can run any task.
    let uploadsDirectory: URL
    /// Results: in the shared directory with a shared store, so any replica serves them.
    let resultsDirectory: URL
    /// Scratch files of running tasks (downloads, rendered pages) with a shared store:
    /// local, in the data directory. Without one they stay in the task's directory.
    let scratchDirectory: URL
    let fileIO = FileIO()

    struct ConfigurationProblem: Error, CustomStringConvertible {
        let description: String
    }

    init(configuration: ServerConfiguration, logger: Logger) async throws {
        self.configuration = configuration
        self.logger = logger
        let isShared = configuration.taskDatabase.isShared
        // With a shared store, what every replica must read lives in the shared directory.
        let sharedRoot: URL
        if isShared {
            guard let directory = configuration.sharedDirectory else {
                throw ConfigurationProblem(
                    description: "a shared task store (--store postgres://...) needs a shared directory for sources and "
                        + "results (--shared-dir, on storage every replica mounts)")
            }
            sharedRoot = directory
        } else {
            sharedRoot = configuration.dataDirectory
        }
        uploadsDirectory = sharedRoot.appendingPathComponent("tasks")
        resultsDirectory = sharedRoot.appendingPathComponent("results")
        scratchDirectory = configuration.dataDirectory.appendingPathComponent("scratch")
        // Uploads, results, task records and the signing key are other people's documents
        // and our secrets: only this user may read them (0700 directories, 0600 files).
        // The data and shared directories may be volume roots the server does not own
        // (PrivateDirectory); what it creates inside is its own.
        for root in Set([configuration.dataDirectory, sharedRoot]) {
            if case .foreign(let owner, let group, let mode) = try PrivateDirectory.prepare(root, acceptingForeign: true) {
                logger.info(
                    "directory used as found: another owner's (a volume root); what the server keeps in it is private",
                    metadata: [
                        "path": "\(root.path)", "owner": "\(owner)", "group": "\(group)", "mode": "\(String(mode, radix: 8))",
                    ])
            }
        }
        for directory in [uploadsDirectory, resultsDirectory] + (isShared ? [scratchDirectory] : []) {
            _ = try PrivateDirectory.prepare(directory, acceptingForeign: false)
        }
        keys = APIKeyRing(keys: configuration.apiKeys)
        limiter = configuration.requestsPerSecond.flatMap { $0 > 0 ? RateLimiter(rate: $0) : nil }
        let secret =
            try configuration.signingSecret
            ?? SigningKeyFile.loadOrCreate(
                at: sharedRoot.appendingPathComponent("signing-key").path,
                narrowed: { path in logger.warning("the signing key file was readable by others: narrowed to 0600", metadata: ["path": "\(path)"]) })
        signer = ResultSigner(secret: secret)
        let repository: any TaskRepository
        if case .postgres(let options) = configuration.taskDatabase {
            let replicaID = configuration.replicaID ?? Self.defaultReplicaID()
            repository = try await PostgresTaskRepository(options: options, replicaID: replicaID, logger: logger)
            logger.info(
                "task store: PostgreSQL, shared by replicas",
                metadata: [
                    "store": "\(options)", "replica": "\(replicaID)", "shared_dir": "\(sharedRoot.path)",
                    "lease_seconds": "\(configuration.effectiveLease)",
                ])
        } else if let path = configuration.taskDatabase.path(dataDirectory: configuration.dataDirectory) {
            repository = try SQLiteTaskRepository(path: path)
        } else {
            repository = InMemoryTaskRepository()
        }
        store = try await TaskStore(repository: repository)
        unfinishedAtStart = isShared ? [] : try await store.pendingTasks()
        pool = OCREnginePool(
            configuration: EngineConfiguration(
                workers: configuration.workers, dataPath: configuration.tessdataPath,
                rasterDPI: configuration.rasterDPI, maxImageSide: configuration.maxImageSide,
                maxPages: configuration.maxPages, maxPagePixels: configuration.maxPagePixels,
                maxDocumentPixels: configuration.maxDocumentPixels, bwrapPath: configuration.bwrapPath),
            logger: logger)
        downloads = PermitQueue(limit: configuration.concurrentDownloads, keepsOneForIdleKeys: true)
        preparations = PermitQueue(limit: pool.configuration.preparationWorkers)
        engines = PermitQueue(limit: configuration.workers)
        uploads = UploadGate(limitPerKey: configuration.maxUploadsPerKey)
        fetcher = SourceFetcher(
            allowPrivate: configuration.allowPrivateSources,
            allowAnyPort: configuration.allowAnyPort, maxBytes: configuration.maxDocumentBytes,
            timeout: configuration.downloadTimeout, resolveTimeout: configuration.resolveTimeout)
        // Task directories of tasks that are no longer pending (or unknown) are leftovers of
        // an earlier run; those of unfinished tasks hold their sources for the re-run. With
        // a shared store other replicas are uploading into the same directory right now:
        // the sweep removes leftovers there once they are old. Scratch files of this
        // replica's earlier runs are all leftovers.
        if isShared {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: scratchDirectory.path)) ?? [] {
                try? FileManager.default.removeItem(at: scratchDirectory.appendingPathComponent(name))
            }
        } else {
            let keep = Set(unfinishedAtStart.map(\.id))
            for name in (try? FileManager.default.contentsOfDirectory(atPath: uploadsDirectory.path)) ?? []
            where !keep.contains(name) {
                try? FileManager.default.removeItem(at: uploadsDirectory.appendingPathComponent(name))
            }
        }
    }

    /// Host name, process id and a random suffix: unique per process, readable in logs.
    static func defaultReplicaID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "replica"
        let suffix = UUID().uuidString.lowercased().prefix(8)
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)"
    }

    // MARK: Keys

    /// Checks `X-API-KEY` and the per-key rate; the key's index.
    func authorize(_ request: Request) throws(PicWishError) -> Int {
        let presented = request.headers.first { $0.name.canonicalName == TaskAPI.apiKeyHeader.lowercased() }?.value
        guard let key = keys.match(presented) else {
            throw PicWishError(.unauthorized, "invalid or missing X-API-KEY")
        }
        if let limiter, let wait = limiter.acquire(key: key) {
            let seconds = max(1, Int(wait.rounded(.up)))
            throw PicWishError(
                .tooManyRequests, "request rate over the limit for this key", headers: [.retryAfter: String(seconds)])
        }
        return key
    }

    func statsSnapshot() async -> ServerStats.Snapshot {
        var snapshot = stats.snapshot
        let counts: TaskStateCounts
        do { counts = try await store.counts() } catch {
            logger.error("stats: the task store failed", metadata: ["reason": "\(error)"])
            counts = TaskStateCounts()
        }
        snapshot.tasksQueued = counts.queued
        snapshot.tasksRunning = counts.running
        snapshot.tasksStored = counts.stored
        snapshot.oldestQueuedSeconds = counts.oldestQueuedAt.map { max(0, Date().timeIntervalSince($0)) } ?? 0
        snapshot.workers = configuration.workers
        snapshot.enginesBusy = await pool.busyCount()
        snapshot.uploadsInProgress = uploads.total
        snapshot.downloadsInProgress = downloads.running
        snapshot.downloadsWaiting = downloads.waiting
        snapshot.draining = draining.load(ordering: .relaxed)
        return snapshot
    }

    // MARK: Processing

    enum TaskInput: Sendable {
        case file(URL)
        case url(DocumentURL)
    }

    struct TaskInputJob: Sendable {
        var id: String
        /// The key's owner id: whose turn it is at the fair limits.
        var owner: String
        var input: TaskInput
        var selection: LanguageSelection
        var password: String?
        var format: OutputFormat
        /// Recognise every page, even those with a usable PDF text layer.
        var forceOCR: Bool = false
        var directory: URL
    }

    /// Thrown inside ``run(_:)`` when the server is draining and the task has not taken an
    /// engine yet: it is handed back, not failed.
    private struct HandedBack: Error {}

    /// Thrown inside ``run(_:)`` when the task has started too often without ending: it
    /// was failed (state -8) instead of started.
    private struct AttemptsExhausted: Error {}

    enum AttemptStart: Equatable {
        /// The start is recorded: run the task.
        case started
        /// The task had started ``ServerConfiguration/maxAttempts`` times without ending
        /// (each time the process died under it): it is failed now, state -8.
        case exhausted
        /// The task is not this replica's any more (shared store), or not there.
        case notHeld
    }

    /// Records that a run of task `id` starts, before anything that could bring the
    /// process down (downloading, decoding, recognising). A start without an end means the
    /// process crashed or was killed under the task (a drain's hand-back ends the run and
    /// gives its start back), and a restart or another replica runs it again: a task that
    /// crashes the server would be run forever. So the starts are counted in the task's
    /// record, and once a task has started ``ServerConfiguration/maxAttempts`` times
    /// without ending, it fails (state -8) instead. Check and count are one update.
    func startAttempt(_ id: String) async -> AttemptStart {
        let limit = configuration.maxAttempts
        let now = Date()
        let lifetime = configuration.resultLifetime
        let detail =
            "the task was started \(limit) times without finishing (the server stopped while running it each time); "
            + "it is not run again"
        let store = store
        let exhausted = Mutex(false)
        let after: StoredTask?
        do {
            after = try await Task {
                try await store.update(id) { task in
                    guard task.state.isPending else { return }
                    if task.attempts >= limit {
                        task.state = .processingTimeout
                        task.completedAt = now
                        task.detail = detail
                        task.expiresAt = now.addingTimeInterval(lifetime)
                        exhausted.withLock { $0 = true }
                    } else {
                        task.attempts += 1
                    }
                }
            }.value
        } catch {
            // The store will refuse the run's other records too; the run finds that out.
            logger.error("task store update failed", metadata: ["task_id": "\(id)", "reason": "\(error)"])
            return .started
        }
        guard let after else { return .notHeld }
        if exhausted.withLock({ $0 }) {
            stats.record {
                $0.tasksFailed += 1
                $0.failuresByState[String(TaskState.processingTimeout.rawValue), default: 0] += 1
            }
            metrics.taskEnded(.processingTimeout)
            metrics.attemptsExhausted()
            logger.error(
                "task failed: started too often without finishing",
                metadata: ["task_id": "\(id)", "attempts": "\(after.attempts)"])
            return .exhausted
        }
        guard after.state.isPending else { return .notHeld }
        if after.attempts > 1 {
            logger.warning(
                "task started again after the server stopped while running it",
                metadata: ["task_id": "\(id)", "attempt": "\(after.attempts)", "limit": "\(limit)"])
        }
        return .started
    }

    private var isDraining: Bool { draining.load(ordering: .relaxed) }

    func run(_ job: TaskInputJob) async {
        let id = job.id
        let cancel = CancelFlag()
        let started = ContinuousClock.now
        let scratch = scratchDirectory(for: job)
        // Whether the task ended here (its final state recorded): only then do its source
        // and job file go. A task whose lease was lost keeps them for the replica that
        // took it over.
        var ended = false
        do {
            guard let format = ResultFormat(rawValue: job.format.rawValue) else {
                throw OCRFailure.failed("unsupported format")
            }
            let name = "\(id).\(job.format.rawValue)"
            let output = resultsDirectory.appendingPathComponent(name)
            @Sendable func ocrJob(_ document: URL) -> OCRJob {
                OCRJob(
                    input: document, languages: job.selection, password: job.password, format: format,
                    output: output, workDirectory: scratch.appendingPathComponent("work"),
                    deadline: .now + .milliseconds(Int64(configuration.processingTimeout * 1000)),
                    forceOCR: job.forceOCR)
            }
            if isDraining { throw HandedBack() }
            switch await startAttempt(id) {
            case .started: break
            case .exhausted:
                ended = true
                throw AttemptsExhausted()
            case .notHeld: return
            }
            // Download and preparation (decrypting, office conversion, counting pages) run
            // before an engine is taken, with their own limits: a slow source never holds
            // an engine. The task stays queued (state 0) until it has one.
            let document: URL
            switch job.input {
            case .file(let url):
                document = url
            case .url(let url):
                try FileManager.default.createDirectory(
                    at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                document = scratch.appendingPathComponent("download")
                _ = try await downloads.withPermit(key: job.owner) { try await fetcher.download(url, to: document) }
            }
            let prepared = try await preparations.withPermit(key: job.owner) {
                try await pool.prepare(ocrJob(document), cancel: cancel)
            }
            ended = try await withEngine(key: job.owner) { slot in
                // A task that gets an engine after SIGTERM does not start: the drain waits
                // only for tasks already running.
                if isDraining { throw HandedBack() }
                onEngine.withLock { _ = $0.insert(id) }
                defer { onEngine.withLock { _ = $0.remove(id) } }
                await record(id) {
                    $0.state = .preparing
                    $0.processedAt = Date()
                }
                // The engine reports phases from its thread; they are recorded in order by
                // one task here, the latest one only when the store is slower than pages.
                let (phases, reporter) = AsyncStream.makeStream(of: OCRPhase.self, bufferingPolicy: .bufferingNewest(1))
                let recorder = Task {
                    for await phase in phases {
                        await self.record(id) { task in
                            switch phase {
                            case .waiting:
                                task.state = .waiting
                            case .processing(let done, let total):
                                task.state = .processing
                                // Never lower: a task another replica took over (shared
                                // store) keeps the progress it had until this run passes it.
                                task.progress = max(task.progress, min(99, total == 0 ? 0 : done * 100 / total))
                            }
                        }
                    }
                }
                // The processing deadline starts when the engine does.
                let outcome: OCROutcome
                do {
                    outcome = try await pool.process(prepared, ocrJob(document), in: slot, cancel: cancel) { phase in
                        reporter.yield(phase)
                    }
                } catch {
                    reporter.finish()
                    await recorder.value
                    throw error
                }
                reporter.finish()
                await recorder.value
                try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: output.path)
                let now = Date()
                let lifetime = configuration.resultLifetime
                let recorded = await record(id) {
                    $0.state = .success
                    $0.progress = 100
                    $0.completedAt = now
                    $0.resultName = name
                    $0.expiresAt = now.addingTimeInterval(lifetime)
                    $0.detail = nil
                }
                stats.record {
                    $0.tasksSucceeded += 1
                    $0.pagesProcessed += outcome.pageCount
                }
                metrics.taskEnded(.success, pages: outcome.pageCount)
                logger.info(
                    "task succeeded",
                    metadata: [
                        "task_id": "\(id)", "pages": "\(outcome.pageCount)", "bytes": "\(outcome.outputBytes)",
                        "seconds": "\(Self.seconds(since: started))",
                    ])
                return recorded
            }
        } catch is AttemptsExhausted {
            // Recorded (failed) by startAttempt; the source goes below.
        } catch is HandedBack {
            return await handBack(job)
        } catch let failure as FetchFailure {
            if isDraining && Task.isCancelled { return await handBack(job) }
            if leaseLost(id) { return }
            switch failure {
            case .download(let detail): ended = await fail(id, .sourceDownloadFailed, detail)
            case .tooLarge(let detail): ended = await fail(id, .tooLarge, detail)
            }
        } catch let failure as OCRFailure {
            if leaseLost(id) { return }
            switch failure {
            case .invalidDocument(let detail): ended = await fail(id, .invalidFile, detail)
            case .tooLarge(let detail): ended = await fail(id, .tooLarge, detail)
            case .timeout(let detail):
                ended = await fail(id, .processingTimeout, "\(detail) (limit \(Int(configuration.processingTimeout)) s)")
            case .cancelled:
                if isDraining { return await handBack(job) }
                ended = await fail(id, .failed, "cancelled")
            case .unavailable(let detail):
                logger.error("task failed: the server could not run a helper", metadata: ["task_id": "\(id)", "reason": "\(detail)"])
                ended = await fail(id, .failed, detail)
            case .failed(let detail): ended = await fail(id, .failed, detail)
            }
        } catch is CancellationError {
            if isDraining { return await handBack(job) }
            if leaseLost(id) { return }
            ended = await fail(id, .failed, "cancelled")
        } catch {
            if leaseLost(id) { return }
            ended = await fail(id, .failed, "processing failed: \(error)")
        }
        if shared != nil {
            try? FileManager.default.removeItem(at: scratch)
            // Not recorded (the lease went, or the store failed): another replica may run
            // the task again and needs its source.
            if !ended { return }
        }
        try? FileManager.default.removeItem(at: job.directory)
    }

    /// Runs `body` on an engine, taken fairly among keys (``engines``); the pool's slot is
    /// then free at once (there are as many permits as slots).
    private func withEngine<T: Sendable>(key: String, _ body: @Sendable (EngineSlot) async throws -> T) async throws -> T {
        try await engines.withPermit(key: key) { try await pool.withSlot(body) }
    }

    /// Where a task's scratch files go: the task's directory with a store of one process,
    /// a local directory of this replica with a shared one.
    private func scratchDirectory(for job: TaskInputJob) -> URL {
        shared == nil ? job.directory : scratchDirectory.appendingPathComponent(job.id)
    }

    /// Whether another replica took the task over (its runner was cancelled for that):
    /// the task is not this replica's to fail or clean up any more.
    private func leaseLost(_ id: String) -> Bool {
        guard shared != nil else { return false }
        let lost = lostLeases.withLock { $0.remove(id) != nil }
        if lost { logger.warning("task taken over by another replica: stopped here", metadata: ["task_id": "\(id)"]) }
        return lost
    }

    /// Leaves a task the drain stopped (or never started) queued in the store, with its
    /// source and job file in its directory: for the next start, or, with a shared store,
    /// released so any replica takes it at once.
    private func handBack(_ job: TaskInputJob) async {
        let scratch = scratchDirectory(for: job)
        if let shared {
            try? FileManager.default.removeItem(at: scratch)
            do {
                // In a task of its own: the drain cancelled this one, and a cancelled task's
                // queries fail.
                let released = try await Task { try await shared.release(id: job.id) }.value
                logger.info(
                    released ? "task handed back: queued for another replica" : "task handed back: its lease had gone already",
                    metadata: ["task_id": "\(job.id)"])
            } catch {
                logger.error(
                    "task hand-back failed: another replica takes it when its lease expires",
                    metadata: ["task_id": "\(job.id)", "reason": "\(error)"])
            }
            return
        }
        for name in ["work", "download"] {
            try? FileManager.default.removeItem(at: scratch.appendingPathComponent(name))
        }
        await record(job.id) {
            $0.state = .queued
            $0.progress = 0
            $0.processedAt = nil
            // An orderly end of the run: its start does not count (startAttempt).
            $0.attempts = max(0, $0.attempts - 1)
        }
        logger.info("task handed back: queued for the next start", metadata: ["task_id": "\(job.id)"])
    }

    /// Changes a task in the store; whether it was changed. A store failure is logged (the
    /// task's runner has no caller to tell); a task this replica no longer holds (shared
    /// store) is left alone.
    @discardableResult
    private func record(_ id: String, _ change: @escaping @Sendable (inout StoredTask) -> Void) async -> Bool {
        let store = store
        // In a task of its own, so a runner the drain cancelled still records its end.
        do { return try await Task { try await store.update(id, change) != nil }.value } catch {
            logger.error("task store update failed", metadata: ["task_id": "\(id)", "reason": "\(error)"])
            return false
        }
    }

    /// Records a failure; whether it was recorded.
    @discardableResult
    private func fail(_ id: String, _ state: TaskState, _ detail: String) async -> Bool {
        let now = Date()
        let lifetime = configuration.resultLifetime
        let recorded = await record(id) {
            $0.state = state
            $0.completedAt = now
            $0.detail = detail
            $0.expiresAt = now.addingTimeInterval(lifetime)
        }
        stats.record {
            $0.tasksFailed += 1
            $0.failuresByState[String(state.rawValue), default: 0] += 1
        }
        metrics.taskEnded(state)
        logger.info("task failed", metadata: ["task_id": "\(id)", "state": "\(state.rawValue)", "detail": "\(detail)"])
        return recorded
    }

    // MARK: Resuming

    /// Runs again the tasks that were queued or running when the previous process stopped
    /// (back to queued, progress 0), from the source and job file kept in their task
    /// directories; a task whose source or job file is gone fails (state -1) with a detail
    /// that says so, and its caller creates it again.
    func resumeUnfinished() async {
        var resumed = 0
        for task in unfinishedAtStart {
            let directory = uploadsDirectory.appendingPathComponent(task.id)
            switch resumableJob(task, directory: directory) {
            case .success(let job):
                await record(task.id) {
                    $0.state = .queued
                    $0.progress = 0
                    $0.processedAt = nil
                }
                tracker.start(id: task.id) { await self.run(job) }
                resumed += 1
            case .failure(let problem):
                await fail(task.id, .failed, "the server restarted and \(problem.reason); create the task again")
                try? FileManager.default.removeItem(at: directory)
            }
        }
        if !unfinishedAtStart.isEmpty {
            logger.info(
                "unfinished tasks of the previous run",
                metadata: ["resumed": "\(resumed)", "failed": "\(unfinishedAtStart.count - resumed)"])
        }
    }

    /// Runs a task a ``TaskClaimer`` claimed from the shared store, from the source and job
    /// file in the shared directory; one whose source or job file is gone fails.
    func runClaimed(_ claimed: ClaimedTask) async {
        let task = claimed.task
        let directory = uploadsDirectory.appendingPathComponent(task.id)
        switch resumableJob(task, directory: directory) {
        case .success(let job):
            if let previous = claimed.takenOverFrom {
                logger.warning(
                    "task taken over: the lease of the replica running it expired",
                    metadata: ["task_id": "\(task.id)", "previous_replica": "\(previous)"])
            }
            await run(job)
        case .failure(let problem):
            if await fail(task.id, .failed, "\(problem.reason); create the task again") {
                try? FileManager.default.removeItem(at: directory)
            }
        }
    }

    private struct NotResumable: Error {
        var reason: String
    }

    private func resumableJob(_ task: StoredTask, directory: URL) -> Result<TaskInputJob, NotResumable> {
        guard let saved = PersistedTaskJob.read(from: directory), let format = OutputFormat(rawValue: saved.format) else {
            return .failure(NotResumable(reason: "the task's job description is gone"))
        }
        let input: TaskInput
        if let text = saved.imageURL {
            guard let url = try? DocumentURL(text) else {
                return .failure(NotResumable(reason: "the task's image_url no longer reads back"))
            }
            input = .url(url)
        } else {
            let upload = directory.appendingPathComponent("upload")
            guard FileManager.default.fileExists(atPath: upload.path) else {
                return .failure(NotResumable(reason: "the task's uploaded document is gone"))
            }
            input = .file(upload)
        }
        guard case .success(let selection) = LanguageSelection.resolve(names: saved.languages, dataPath: configuration.tessdataPath)
        else {
            return .failure(NotResumable(reason: "the task's languages are no longer installed"))
        }
        return .success(
            TaskInputJob(
                id: task.id, owner: task.owner, input: input, selection: selection, password: saved.password, format: format,
                forceOCR: saved.forceOCR ?? false, directory: directory))
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
    /// any more (left by an earlier run) once they are older than the link lifetime. With a
    /// shared store, also task directories of tasks that never were stored or have ended
    /// (a replica died mid-upload or before cleaning up) once they are that old.
    func sweep(now: Date = Date()) async {
        let expired: [StoredTask]
        do { expired = try await store.removeExpired(now: now, retention: configuration.resultLifetime) } catch {
            logger.error("sweep: the task store failed", metadata: ["reason": "\(error)"])
            return
        }
        for task in expired {
            if let name = task.resultName {
                try? FileManager.default.removeItem(at: resultsDirectory.appendingPathComponent(name))
            }
        }
        let cutoff = now.addingTimeInterval(-configuration.resultLifetime)
        func isOld(_ path: String) -> Bool {
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            else { return false }
            return modified < cutoff
        }
        if let names = try? FileManager.default.contentsOfDirectory(atPath: resultsDirectory.path) {
            for name in names {
                let path = resultsDirectory.appendingPathComponent(name).path
                let id = String(name.split(separator: ".").first ?? "")
                guard isOld(path), (try? await store.get(id)) == .some(nil) else { continue }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        if shared != nil, let names = try? FileManager.default.contentsOfDirectory(atPath: uploadsDirectory.path) {
            for name in names {
                let path = uploadsDirectory.appendingPathComponent(name).path
                guard isOld(path) else { continue }
                let task: StoredTask?
                do { task = try await store.get(name) } catch { continue }
                if let task, task.state.isPending { continue }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        if !expired.isEmpty {
            stats.record { $0.tasksSwept += expired.count }
            logger.info("swept expired tasks", metadata: ["count": "\(expired.count)"])
        }
    }
}
