import Crypto
import Foundation
import JobContract
public import Kafka
public import Ledger
public import Logging
import NIOCore
public import OCRClient
import OCRTaskAPI
public import ResultStore

/// Drives one job message to its checkpoint (DESIGN.md sections 4 and 5):
///
/// decode -> ledger accept -> (create task -> record task id) -> poll on the shared
/// scheduler -> rehost the result (or pass its URL through) -> store the result message in
/// the ledger -> publish it -> mark published. Failures store and publish a `failed`
/// result and dead-letter the original record. A job found further along in the ledger
/// resumes where it stood: a redelivered `submitted` job polls its task, a `completed`,
/// `published` or `failed` one republishes the stored bytes.
public final class JobProcessor: MessageHandler {
    let settings: JobProcessorSettings
    let ledger: any JobLedger
    let provider: OCRClient
    let store: (any ResultStore)?
    let producer: KafkaProducer
    let scheduler: PollScheduler
    let monitor: ProviderMonitor
    let metrics: WorkerMetrics
    let logger: Logger
    private let claims = JobClaims()
    private let createGate: CreateGate
    private let decoder = JobDecoder()

    public init(
        settings: JobProcessorSettings,
        ledger: any JobLedger,
        provider: OCRClient,
        store: (any ResultStore)?,
        producer: KafkaProducer,
        scheduler: PollScheduler,
        monitor: ProviderMonitor,
        metrics: WorkerMetrics,
        logger: Logger
    ) {
        self.settings = settings
        createGate = CreateGate(permits: settings.maxConcurrentCreates)
        self.ledger = ledger
        self.provider = provider
        self.store = settings.passThrough ? nil : store
        self.producer = producer
        self.scheduler = scheduler
        self.monitor = monitor
        self.metrics = metrics
        self.logger = logger
    }

    var worker: JobResult.WorkerInfo { .init(id: settings.workerID, version: settings.workerVersion) }

    /// Header of a record replayed from the dead-letter topic (`ocr-worker dlq replay`):
    /// a job whose failure is stored gets a new try instead of a republished failure.
    public static let replayHeader = "ocr.replay"

    public func handle(_ message: KafkaConsumerMessage) async throws {
        // Our own dependencies are retried inside; what still escapes is unexpected (a
        // ledger row in a state no transition allows). Try the whole job again a few
        // times, then dead-letter it as an internal error rather than block the
        // partition's commits forever.
        var attempt = 0
        while true {
            do {
                try await handleOnce(message)
                return
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try Task.checkCancellation()
                attempt += 1
                logger.error("job step failed unexpectedly", metadata: [
                    "error": "\(error)", "attempt": "\(attempt)", "partition": "\(message.partition)", "offset": "\(message.offset)",
                ])
                guard attempt < 5 else {
                    try await deadLetterInternal(message, error: error)
                    return
                }
                try await Task.sleep(for: settings.dependencyRetryDelay * attempt)
            }
        }
    }

    private func handleOnce(_ message: KafkaConsumerMessage) async throws {
        var logger = self.logger
        logger[metadataKey: "topic"] = "\(message.topic)"
        logger[metadataKey: "partition"] = "\(message.partition)"
        logger[metadataKey: "offset"] = "\(message.offset)"
        let job: Job
        do {
            job = try decoder.decode(message.value)
        } catch {
            try await reject(message, rejection: error, logger: logger)
            return
        }
        logger[metadataKey: "job_id"] = "\(job.jobID)"
        let context = JobContext(job: job, message: message, logger: logger)

        // One driver per job id in this pod; duplicates wait, then republish.
        while !(await claims.claim(job.jobID)) {
            try Task.checkCancellation()
            let record = try await dependency("read ledger", logger, { try await self.ledger.record(jobID: job.jobID) })
            if let record, record.state.isSettled {
                try await republish(record, context)
                return
            }
        }
        defer { claims.release(job.jobID) }

        let (record, isNew) = try await dependency("accept job", logger) {
            try await self.ledger.accept(jobID: job.jobID, fingerprint: job.fingerprint, at: Date())
        }
        if !isNew, record.fingerprint != job.fingerprint, !record.fingerprint.hasPrefix("invalid:") {
            logger.warning(
                "job id seen again with another payload; the first one wins",
                metadata: ["first_fingerprint": "\(record.fingerprint)", "this_fingerprint": "\(job.fingerprint)"])
            // The first payload's record is still uncommitted until its result is
            // published, so its own delivery drives the job; this one must not.
            if !record.state.isSettled { return }
        }
        var current = record
        if current.state == .failed, current.publishedAt != nil,
            message.headers.last(named: Self.replayHeader)?.stringValue == "true"
        {
            logger.info("dead-letter replay: giving the failed job a new try")
            current = try await dependency("reopen job", logger) {
                try await self.ledger.reopen(jobID: job.jobID, fingerprint: job.fingerprint, at: Date())
            }
        }
        if current.state.isSettled {
            metrics.redelivered()
            try await republish(current, context)
            return
        }
        try await drive(current, context)
    }

    // MARK: The job's life

    struct JobContext: Sendable {
        var job: Job
        var message: KafkaConsumerMessage
        var logger: Logger
        var traceparent: String? { message.headers.last(named: "traceparent")?.stringValue }
    }

    /// What the current task is doing, kept across re-creates.
    struct Progress: Sendable {
        var taskID: String?
        var taskStartedAt = ContinuousClock.now
        var polls = 0
        var recreates = 0
        var uploadInstead = false
        /// Result URLs found expired and queried again for this task.
        var refetches = 0
        var lastRecord: TaskRecord?
        var taskCreatedAt: Date?
        /// `createAttempts` of the last create claim this driver made: a `creating` row
        /// with another count is someone else's claim (see ``awaitForeignClaim``).
        var ownClaim: Int?

        /// Starts following a task that was just created or recorded: its own clock and
        /// poll count.
        mutating func follow(task id: String) {
            taskID = id
            taskStartedAt = .now
            polls = 0
        }

        /// Dates the task's start back to the provider's `created_at` when that is
        /// earlier: a task resumed after a restart or a rebalance keeps its original
        /// deadline (``JobProcessorSettings/taskTimeout``) instead of starting a new one.
        /// Ages below zero or over a week are clock trouble and ignored.
        mutating func noteProviderCreation(_ createdAt: Date?, now: Date = Date()) {
            guard let createdAt else { return }
            let age = now.timeIntervalSince(createdAt)
            guard age > 0, age < 7 * 24 * 3600 else { return }
            let start = ContinuousClock.now - .milliseconds(Int64(age * 1000))
            if start < taskStartedAt { taskStartedAt = start }
        }
    }

    private func drive(_ initial: JobRecord, _ context: JobContext) async throws {
        let job = context.job
        var logger = context.logger
        var record = initial
        var progress = Progress(taskID: record.state == .submitted ? record.taskID : nil)
        if progress.taskID != nil { logger.info("resuming the recorded task", metadata: ["task_id": "\(record.taskID ?? "")"]) }

        while true {
            try Task.checkCancellation()
            if job.isPastDeadline(at: Date()) {
                try await fail(context, record: record, taskID: progress.taskID, .deadlineExceeded, code: "deadline", message: "the job's deadline passed")
                return
            }

            // Create a task unless one is recorded.
            guard let taskID = progress.taskID else {
                if record.state == .creating, record.createAttempts != progress.ownClaim {
                    switch try await awaitForeignClaim(context, &record) {
                    case .taskRecorded(let id):
                        progress.follow(task: id)
                        logger[metadataKey: "task_id"] = "\(id)"
                        continue
                    case .settled:
                        try await republish(record, context)
                        return
                    case .free:
                        break
                    }
                }
                switch try await createTask(context, &record, &progress) {
                case .created(let id):
                    progress.follow(task: id)
                    logger[metadataKey: "task_id"] = "\(id)"
                    try await scheduler.wait(until: .now + settings.pollBackoff.first)
                case .failed(let errorClass, let code, let message):
                    try await fail(context, record: record, taskID: nil, errorClass, code: code, message: message)
                    return
                case .retry:
                    continue
                }
                continue
            }

            // Poll it.
            if ContinuousClock.now - progress.taskStartedAt > settings.taskTimeout {
                if case .failed(let c, let code, let m) = recreate(&progress, reason: "task exceeded the task timeout", failure: (.providerFailed, "task_timeout")) {
                    try await fail(context, record: record, taskID: taskID, c, code: code, message: m)
                    return
                }
                continue
            }
            try await monitor.waitUntilUsable()
            let task: TaskRecord
            do {
                task = try await provider.queryTask(taskID)
                monitor.recordSuccess()
                progress.polls += 1
                try? await ledger.recordPolls(jobID: job.jobID, count: 1, at: Date())
            } catch {
                try Task.checkCancellation()
                monitor.record(error)
                switch error.action {
                case .recreateTask:
                    if case .failed(let c, let code, let m) = recreate(&progress, reason: "the provider lost the task", failure: (.providerFailed, "http_404")) {
                        try await fail(context, record: record, taskID: taskID, c, code: code, message: m)
                        return
                    }
                case .permanentFailure:
                    try await fail(context, record: record, taskID: taskID, .providerRejected, code: error.statusCode, message: "\(error)")
                    return
                default:
                    // Transient or deployment fault: the monitor pauses us; poll again later.
                    try await scheduler.wait(until: .now + settings.pollBackoff.first)
                }
                continue
            }
            progress.lastRecord = task
            progress.noteProviderCreation(task.createdAt?.date)
            let action = OutcomePolicy.action(for: task.state)
            switch action {
            case .keepPolling, .retryLater: break
            default: metrics.taskEnded(after: ContinuousClock.now - progress.taskStartedAt, state: "\(task.state.rawValue)")
            }

            switch action {
            case .keepPolling, .retryLater:
                let delay = settings.pollBackoff.delay(
                    afterPolls: progress.polls, progress: task.progress, elapsed: ContinuousClock.now - progress.taskStartedAt)
                try await scheduler.wait(until: .now + delay)
            case .done:
                guard let fileURL = task.file, !fileURL.isEmpty else {
                    if case .failed(let c, let code, let m) = recreate(&progress, reason: "a successful task without a result file", failure: (.providerFailed, "no_file")) {
                        try await fail(context, record: record, taskID: taskID, c, code: code, message: m)
                        return
                    }
                    continue
                }
                switch try await finish(context, record: record, task: task, fileURL: fileURL, progress: progress) {
                case .published:
                    return
                case .refetch:
                    // The result URL expired or vanished: query again for a fresh one.
                    progress.refetches += 1
                    continue
                case .recreate:
                    if case .failed(let c, let code, let m) = recreate(&progress, reason: "the result file could not be fetched", failure: (.rehostFailed, "result_unavailable")) {
                        try await fail(context, record: record, taskID: taskID, c, code: code, message: m)
                        return
                    }
                case .failed(let message):
                    try await fail(context, record: record, taskID: taskID, .rehostFailed, code: "rehost", message: message)
                    return
                }
            case .recreateTask:
                let failure = (ErrorClass.providerFailed, "\(task.state.rawValue)")
                if case .failed(let c, let code, let m) = recreate(&progress, reason: "task state \(task.state.rawValue): \(task.stateDetail ?? "")", failure: failure) {
                    try await fail(context, record: record, taskID: taskID, c, code: code, message: m)
                    return
                }
            case .uploadFileInstead:
                if progress.uploadInstead {
                    try await fail(context, record: record, taskID: taskID, .sourceUnreachable, code: "\(task.state.rawValue)",
                        message: "the provider could not fetch the document, even when uploaded by the worker")
                    return
                }
                logger.info("the provider could not fetch the document; uploading it ourselves")
                progress.uploadInstead = true
                progress.taskID = nil
            case .permanentFailure, .deploymentFault, .refreshResultURL:
                try await fail(context, record: record, taskID: taskID, .providerRejected, code: "\(task.state.rawValue)",
                    message: task.stateDetail.map { "task state \(task.state.rawValue): \($0)" } ?? "task state \(task.state.rawValue)")
                return
            }
        }
    }

    enum ForeignClaim {
        /// The other driver recorded its task: poll that one.
        case taskRecorded(String)
        /// The job reached its end meanwhile: republish what is stored.
        case settled
        /// Nobody holds a live claim (any more): create.
        case free
    }

    /// The job is `creating` under a claim this driver did not make: either another
    /// driver's create call is in flight (the previous owner of a revoked partition
    /// finishes its create, which is shielded from cancellation; another consumer group
    /// working on the same ledger) or a crash left the claim. Waits while the claim is
    /// renewed, and returns the task once it is recorded; takes over a claim that has
    /// not been renewed for ``JobProcessorSettings/createClaimTimeout`` (counted: the
    /// provider may hold the crashed create's task too).
    private func awaitForeignClaim(_ context: JobContext, _ record: inout JobRecord) async throws -> ForeignClaim {
        let job = context.job
        var waited = false
        while true {
            switch record.state {
            case .submitted:
                if let id = record.taskID {
                    context.logger.info("the other driver recorded its task; polling it", metadata: ["task_id": "\(id)"])
                    return .taskRecorded(id)
                }
                return .free
            case .completed, .published, .failed:
                return .settled
            case .accepted:
                return .free
            case .creating:
                let age = Date().timeIntervalSince(record.updatedAt)
                if age > settings.createClaimTimeout.seconds {
                    metrics.createClaimTakenOver()
                    context.logger.warning(
                        "taking over a create claim nobody renewed (a crash inside a create call): the provider may hold a second task for this job",
                        metadata: ["claim_age_seconds": "\(Int(age))", "create_attempts": "\(record.createAttempts)"])
                    return .free
                }
                if !waited {
                    waited = true
                    metrics.createClaimAwaited()
                    context.logger.info("another driver is creating this job's task; waiting for its task id")
                }
            }
            try await scheduler.wait(until: .now + settings.pollBackoff.first)
            if let fresh = try await dependency("read ledger", context.logger, { try await self.ledger.record(jobID: job.jobID) }) {
                record = fresh
            }
        }
    }

    enum CreateOutcome {
        case created(String)
        case failed(ErrorClass, code: String, message: String)
        case retry
    }

    /// Writes the intent, creates the task and records its id. The create and the write
    /// run to completion even when the job is cancelled (a revoke): abandoning them
    /// between the provider's accept and the ledger write is what would create a second
    /// task later.
    private func createTask(_ context: JobContext, _ record: inout JobRecord, _ progress: inout Progress) async throws -> CreateOutcome {
        try await monitor.waitUntilUsable()
        let job = context.job
        let uploadInstead = progress.uploadInstead
        let ledger = self.ledger
        let provider = self.provider
        let logger = context.logger
        let expectedAttempts = record.createAttempts
        let renewEvery = settings.createClaimTimeout / 3
        // The permit is awaited cancellably; once held, the claim, the create and the
        // write run shielded and the permit goes back when they are done.
        let (claimed, outcome) = try await createGate.withPermit {
            let shielded = Task { () -> (claimed: Int?, outcome: Result<(JobRecord, CreateTaskResult), any Error>) in
                var claimed: Int?
                do {
                    // Exactly one racer (another pod holding a duplicate) wins the claim.
                    let creating = try await ledger.claimCreate(jobID: job.jobID, expectedCreateAttempts: expectedAttempts, at: Date())
                    claimed = creating.createAttempts
                    // Keep the claim alive while the create runs (an upload can be long), so
                    // nobody mistakes it for a crash's.
                    let renewal = Task {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: renewEvery)
                            if Task.isCancelled { return }
                            do {
                                try await ledger.renewCreateClaim(jobID: job.jobID, createAttempts: creating.createAttempts, at: Date())
                            } catch let error as LedgerError where error.code == .invalidTransition {
                                return
                            } catch {
                                logger.warning("could not renew the create claim; trying again", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                    defer { renewal.cancel() }
                    let source: DocumentSource = .url(job.source.url.absoluteString)
                    let created = try await provider.createTask(source: source, options: job.options, sourcePolicy: uploadInstead ? .upload : nil)
                    let submitted = try await ledger.recordTask(jobID: job.jobID, taskID: created.taskID, at: Date())
                    logger.info("task created", metadata: ["task_id": "\(created.taskID)", "source_mode": "\(created.sourceMode)"])
                    return (claimed, .success((submitted, created)))
                } catch {
                    return (claimed, .failure(error))
                }
            }
            return await shielded.value
        }
        if let claimed { progress.ownClaim = claimed }
        switch outcome {
        case .success(let (submitted, created)):
            monitor.recordSuccess()
            record = submitted
            progress.taskCreatedAt = Date()
            return .created(created.taskID)
        case .failure(let error as OCRClientError):
            try Task.checkCancellation()
            monitor.record(error)
            // The claim raised createAttempts: the next claim must expect the new count.
            if let fresh = try? await ledger.record(jobID: job.jobID) { record = fresh }
            switch error.action {
            case .permanentFailure:
                return .failed(.providerRejected, code: error.statusCode, message: "\(error)")
            case .uploadFileInstead where !uploadInstead:
                progress.uploadInstead = true
                return .retry
            case .uploadFileInstead:
                return .failed(.sourceUnreachable, code: error.statusCode, message: "\(error)")
            default:
                // Transient (after the client's own retries) or 401: wait, then again.
                try await scheduler.wait(until: .now + settings.pollBackoff.cap)
                return .retry
            }
        case .failure(let error):
            try Task.checkCancellation()
            context.logger.warning("create step failed; retrying", metadata: ["error": "\(error)"])
            try await Task.sleep(for: settings.dependencyRetryDelay)
            if let fresh = try? await ledger.record(jobID: job.jobID) { record = fresh }
            if record.state == .submitted, let id = record.taskID { return .created(id) }
            return .retry
        }
    }

    /// Plans a re-create, or the failure when the re-creates are used up.
    private func recreate(_ progress: inout Progress, reason: String, failure: (ErrorClass, String)) -> CreateOutcome {
        guard progress.recreates < settings.maxRecreates else {
            return .failed(failure.0, code: failure.1, message: "\(reason); gave up after \(progress.recreates + 1) tasks")
        }
        progress.recreates += 1
        progress.taskID = nil
        metrics.recreate()
        logger.warning("re-creating the task", metadata: ["reason": "\(reason)", "recreate": "\(progress.recreates)"])
        return .retry
    }
}

extension JobState {
    /// Nothing left to do but (re)publish the stored result.
    var isSettled: Bool { self == .completed || self == .published || self == .failed }
}

extension OCRClientError {
    /// The `code` of a failed result: the HTTP status (`http_413`), else the error code.
    var statusCode: String { status.map { "http_\($0)" } ?? code.rawValue }
}
