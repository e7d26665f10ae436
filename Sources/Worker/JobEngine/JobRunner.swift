import Crypto
import Foundation
import JobContract
public import JobCore
public import Kafka
public import Logging
import OCRTaskAPI
import Permits
import PollPlanning
public import ResultStore

/// Takes one job message to its checkpoint by running its ``JobMachine``: asks the
/// machine for an effect, performs it through the ports (task provider, ledger, result
/// store, result publisher, timer, provider gate), feeds back what happened, until the
/// machine finishes. All decisions are the machine's; this type only does I/O, retries
/// our own dependencies (``DependencyRetry``), counts and logs.
///
/// Before the machine starts: the record is decoded (a record that breaks the contract is
/// rejected: a failed result when it has a job id, and a dead letter), one driver per job
/// id in this pod is claimed, and the ledger row is accepted.
public final class JobRunner: MessageHandler {
    /// The ports the runner performs the machine's effects through (`JobCore`'s, in domain
    /// types).
    public struct Ports: Sendable {
        public var provider: any TaskProvider
        public var ledger: any JobLedger
        /// nil in pass-through mode.
        public var rehoster: (any ResultRehoster)?
        public var publisher: any ResultPublisher
        public var timer: any JobTimer
        public var gate: any ProviderGate

        public init(
            provider: any TaskProvider, ledger: any JobLedger, rehoster: (any ResultRehoster)?, publisher: any ResultPublisher,
            timer: any JobTimer, gate: any ProviderGate
        ) {
            self.provider = provider
            self.ledger = ledger
            self.rehoster = rehoster
            self.publisher = publisher
            self.timer = timer
            self.gate = gate
        }

        /// The ports on an OCR client and a result store (nil: pass-through), through the
        /// adapters in `Worker/Adapters`.
        public init(
            provider client: any ProviderClient, ledger: any JobLedger, store: (any ResultStore)?, publisher: any ResultPublisher,
            timer: any JobTimer, gate: any ProviderGate, logger: Logger = Logger(label: "ocr-worker"),
            dependencyRetryDelay: Duration = .seconds(1)
        ) {
            let retry = DependencyRetry(firstDelay: dependencyRetryDelay, timer: timer)
            self.init(
                provider: ClientTaskProvider(client: client), ledger: ledger,
                rehoster: store.map { StoreRehoster(client: client, store: $0, retry: retry, logger: logger) },
                publisher: publisher, timer: timer, gate: gate)
        }
    }

    let settings: JobSettings
    let ports: Ports
    let metrics: WorkerMetrics
    let logger: Logger
    let retry: DependencyRetry
    /// Told about failures only a restart fixes (a fatal producer error).
    public let health: WorkerHealth
    private let claims = JobClaims()
    private let createGate: PermitQueue
    /// Documents being fetched ahead of their creates (each may be large and slow).
    private let sourceFetches: PermitQueue
    private let renewals: CreateClaimRenewals
    private let decoder: JobDecoder
    /// Learned task durations: each job's polls are planned from a snapshot of it.
    let durationModel: DurationModel

    public init(settings: JobSettings, ports: Ports, metrics: WorkerMetrics = WorkerMetrics(), health: WorkerHealth = WorkerHealth(), logger: Logger)
    {
        self.settings = settings
        self.health = health
        var ports = ports
        if settings.passThrough { ports.rehoster = nil }
        self.ports = ports
        self.metrics = metrics
        self.logger = logger
        retry = DependencyRetry(firstDelay: settings.dependencyRetryDelay, timer: ports.timer)
        createGate = PermitQueue(limit: settings.maxConcurrentCreates)
        sourceFetches = PermitQueue(limit: settings.maxConcurrentSourceFetches)
        renewals = CreateClaimRenewals(every: settings.createClaimTimeout / 3, ledger: ports.ledger, logger: logger)
        decoder = JobDecoder(maxValueBytes: settings.maxRecordBytes)
        durationModel = DurationModel(settings: settings.pollPlanning, coldStart: settings.pollBackoff)
    }

    /// Header of a record replayed from the dead-letter topic (`ocr-worker dlq replay`):
    /// a job whose failure is stored gets a new try instead of a republished failure.
    public static let replayHeader = ReplaySignature.header

    var worker: JobResult.WorkerInfo { .init(id: settings.workerID, version: settings.workerVersion) }

    var rules: JobMachine.Rules {
        .init(
            maxRecreates: settings.maxRecreates, taskTimeout: settings.taskTimeout, pollBackoff: settings.pollBackoff,
            createClaimTimeout: settings.createClaimTimeout, dependencyRetryDelay: settings.dependencyRetryDelay,
            rehost: ports.rehoster != nil, resultURLLifetime: settings.resultURLLifetime)
    }

    public func handle(_ message: KafkaConsumerMessage) async throws {
        // Our own dependencies are retried inside; what still escapes, and a job another
        // driver moved on without settling it, goes to the machine's rule for failures no
        // row covers (`JobMachine.afterFailure`): drive the job again, or dead-letter it.
        var tries = 0
        while true {
            let failure: (description: String, permanent: Bool)
            do {
                guard try await handleOnce(message) == .redrive else { return }
                failure = ("the job moved on under another driver but is not settled", false)
            } catch is CancellationError {
                throw CancellationError()
            } catch let permanent as PermanentDependencyFailure {
                failure = ("\(permanent)", true)
            } catch {
                failure = ("\(error)", false)
            }
            try Task.checkCancellation()
            tries += 1
            switch JobMachine.afterFailure(failure.description, tries: tries, permanent: failure.permanent, rules: rules) {
            case .driveAgain(let delay):
                logger.error(
                    "job step failed unexpectedly; driving the job again",
                    metadata: [
                        "error": "\(failure.description)", "attempt": "\(tries)", "partition": "\(message.partition)",
                        "offset": "\(message.offset)",
                    ])
                try await ports.timer.wait(until: ports.timer.now().instant + delay)
            case .deadLetter(let reason):
                logger.error(
                    "job cannot be processed: dead-lettering it",
                    metadata: [
                        "error": "\(failure.description)", "partition": "\(message.partition)", "offset": "\(message.offset)",
                    ])
                // If even the dead letter cannot be written, the pod cannot do its work: it
                // reports fatal (/healthz fails, the process exits non-zero) instead of
                // stalling silently.
                do {
                    try await deadLetterInternal(message, failure: reason)
                } catch let again as PermanentDependencyFailure {
                    health.markFatal("neither the result nor the dead letter can be published: \(again)")
                    throw again
                }
                return
            }
        }
    }

    /// Runs one delivery of a job. What stays in this task's frames while the job is
    /// parked is small on purpose (see ``Drive``): the context is a reference and a
    /// logger, the ledger calls that open the job run in a child task, and the drive
    /// loop keeps one reference to the job's ``Drive``.
    private func handleOnce(_ message: KafkaConsumerMessage) async throws -> JobEnding {
        let context: JobContext
        switch decode(message) {
        case .success(let decoded):
            context = decoded
        case .failure(let rejection):
            try await reject(message, rejection: rejection, logger: logger(for: message))
            return .failed(.invalidJob)
        }

        // One driver per job id in this pod; duplicates wait, then drive or republish
        // from what the first one left.
        while !(try await claims.claim(context.job.jobID)) {}
        defer { claims.release(context.job.jobID) }

        guard let drive = try await inChildTask({ try await self.open(context) }).map({ makeDrive($0, context) }) else {
            return .deferredToFirstPayload
        }
        try await run(drive)
        return drive.ending ?? .redrive
    }

    /// The logger of one record's job: the record's coordinates, then its job id.
    private func logger(for message: KafkaConsumerMessage) -> Logger {
        var logger = self.logger
        logger[metadataKey: "topic"] = "\(message.topic)"
        logger[metadataKey: "partition"] = "\(message.partition)"
        logger[metadataKey: "offset"] = "\(message.offset)"
        return logger
    }

    /// Checks a record's envelope and decodes its job. Caps first: a record too large is
    /// rejected unread, never decoded.
    private func decode(_ message: KafkaConsumerMessage) -> Result<JobContext, JobRejection> {
        do throws(JobRejection) {
            try decoder.checkEnvelope(
                keyBytes: message.key?.count ?? 0, headerCount: message.headers.count,
                headerBytes: JobDecoder.headerBytes(message.headers.map { ($0.key, $0.value) }))
            let job = try decoder.decode(message.value)
            var logger = logger(for: message)
            logger[metadataKey: "job_id"] = "\(job.jobID)"
            return .success(JobContext(job: job, message: message, logger: logger))
        } catch {
            return .failure(error)
        }
    }

    /// Accepts the job's ledger row (or reopens it for a dead-letter replay) and says
    /// whether this delivery drives it: the record to start the machine from, or nil.
    private func open(_ context: JobContext) async throws -> JobRecord? {
        let job = context.job
        let ledger = ports.ledger
        let (accepted, isNew) = try await retry.run("accept job", context.logger) {
            try await ledger.accept(jobID: job.jobID, fingerprint: job.fingerprint, at: Date())
        }
        let isReplay = isSignedReplay(context)
        switch JobMachine.opening(record: accepted, isNew: isNew, fingerprint: job.fingerprint, isReplay: isReplay) {
        case .deferToFirstPayload:
            // The first payload's record is still uncommitted until its result is
            // published, so its own delivery drives the job; this one must not.
            note(.otherPayload(firstFingerprint: accepted.fingerprint), context)
            return nil
        case .reopenForReplay:
            context.logger.info("dead-letter replay: giving the failed job a new try")
            return try await retry.run("reopen job", context.logger) {
                try await ledger.reopen(jobID: job.jobID, fingerprint: job.fingerprint, at: Date())
            }
        case .drive:
            if !isNew, accepted.state.isSettled { metrics.redelivered() }
            return accepted
        }
    }

    /// Whether the record carries a valid `ocr.replay` signature (``ReplaySignature``):
    /// only then may it reopen a failed job. A header that does not verify is ignored,
    /// and said so: the record is then an ordinary redelivery.
    private func isSignedReplay(_ context: JobContext) -> Bool {
        guard let header = context.message.headers.last(named: Self.replayHeader) else { return false }
        guard let key = settings.replayKey else {
            context.logger.warning("replay header ignored: OCR_REPLAY_KEY is not set on this worker")
            return false
        }
        let signature = header.stringValue ?? ""
        guard ReplaySignature.isValid(signature, jobID: context.job.jobID, value: context.message.value ?? [], key: key) else {
            context.logger.warning("replay header ignored: its signature does not match the record")
            return false
        }
        return true
    }

    // MARK: Performing effects

    /// The job's machine, started from its ledger record, with its context.
    private func makeDrive(_ record: JobRecord, _ context: JobContext) -> Drive {
        var rules = self.rules
        if settings.pollPlanning.enabled {
            rules.pollPlanner = durationModel.planner(for: DurationKey(provider: settings.pollPlanning.provider, format: context.job.format.rawValue))
        }
        let machine = JobMachine(
            record: record, deadline: context.job.deadline?.date, resultContentType: context.job.format.contentType,
            rules: rules, now: ports.timer.now())
        return Drive(machine: machine, context: context)
    }

    /// A create told the source's size (the bytes it uploaded): the new task's polls are
    /// planned under the key with its size bucket (which plans from the size-less fit while
    /// the bucket has few tasks); a create by URL goes back to the size-less key.
    private func planPollsBySize(_ uploadedBytes: Int64, _ drive: Drive) {
        guard let current = drive.machine.rules.pollPlanner else { return }
        let key = current.key.sized(uploadedBytes: uploadedBytes)
        if key != current.key { drive.machine.planPolls(with: durationModel.planner(for: key)) }
    }

    /// Steps the machine until it finishes: waits park this task; a run of I/O effects
    /// with no wait between them (poll, settle, publish, mark published) runs in one
    /// child task; a create runs in a child task too.
    /// The loop's frame holds the ``Drive`` and a closure, nothing bigger.
    private func run(_ drive: Drive) async throws {
        var next = try advance(drive)
        while true {
            switch next {
            case .finished:
                return
            case .wait(let until):
                try await ports.timer.wait(until: until)
                drive.event = .woke
                next = try advance(drive)
            case .create(let upload, let effect):
                // A document this pod uploads is fetched before the create permit is
                // taken: a slow source holds a fetch permit, never the create permit that
                // every other job of the pod needs.
                let context = drive.context
                switch try await inChildTask({ try await self.fetchSource(context, upload: upload) }) {
                case .failed(let event):
                    drive.event = event
                case .ready(let fetched):
                    defer { if let fetched { ports.provider.discard(fetched) } }
                    // Jobs queue for the create permit here, in their own small frame, not
                    // inside the child task that runs the create. The child keeps the create
                    // step's frames out of this task, which stays parked for the job's life
                    // (running it here: 285 against 209 MiB with 10,000 jobs in flight).
                    drive.event = try await createGate.withPermit { try await inChildTask { try await effect(fetched) } }
                }
                next = try advance(drive)
            case .perform:
                let first = next
                next = try await inChildTask { try await self.performEffects(from: first, drive) }
            }
        }
    }

    /// Performs I/O effects one after the other, feeding each outcome to the machine,
    /// until it asks for something else (a wait, a create, the end). One child task per
    /// run, not one per effect: each task start and each resume of the waiting parent is a
    /// thread wake-up, and they were a large part of a job's CPU.
    private func performEffects(from first: Drive.Next, _ drive: Drive) async throws -> Drive.Next {
        var next = first
        while case .perform(let effect) = next {
            drive.event = try await effect()
            next = try advance(drive)
        }
        return next
    }

    /// Feeds the pending event (none: start) to the machine and handles what needs no
    /// I/O: notes, the log's task id, the finish. Synchronous, so none of its
    /// temporaries live in the job's async frames; an effect leaves as a closure that
    /// holds what it needs.
    private func advance(_ drive: Drive) throws -> Drive.Next {
        let now = ports.timer.now()
        if case .created(_, _, let uploaded)? = drive.event { planPollsBySize(uploaded, drive) }
        let step = drive.event.map { drive.machine.handle($0, at: now) } ?? drive.machine.start(at: now)
        drive.event = nil
        for note in step.notes { self.note(note, drive.context) }
        if let id = drive.machine.taskID { drive.context.logger[metadataKey: "task_id"] = "\(id)" }
        let effect = step.effect
        let context = drive.context
        switch effect {
        case .finish(let ending):
            finished(ending, machine: drive.machine, context)
            drive.ending = ending
            return .finished
        case .wait(let until):
            return .wait(until)
        case .create(let expected, let upload):
            return .create(upload: upload) { fetched in
                try await self.create(context, expectedCreateAttempts: expected, upload: upload, fetched: fetched)
            }
        default:
            return .perform { try await self.perform(effect, context) }
        }
    }

    /// Runs `body` in a child task of its own. Why: a task keeps the memory its deepest
    /// call chain needed until it ends (async frames come from a per-task stack
    /// allocator), and a job's task lives for the job's whole life, mostly parked in a
    /// wait. Running each I/O effect (HTTP, ledger, broker) in a short-lived child keeps
    /// those deep frames out of the parked task: about 20 KB less per job in flight.
    private func inChildTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask(operation: body)
            guard let value = try await group.next() else { throw CancellationError() }
            return value
        }
    }

    /// Performs one I/O effect and says what happened.
    private func perform(_ effect: JobEffect, _ context: JobContext) async throws -> JobEvent {
        switch effect {
        case .readLedger:
            let jobID = context.job.jobID
            let ledger = ports.ledger
            return .ledgerRead(try await retry.run("read ledger", context.logger) { try await ledger.record(jobID: jobID) })
        case .poll(let taskID):
            return try await poll(taskID)
        case .rehost(_, let fileURL):
            return try await rehost(fileURL, context)
        case .settle(let settlement, let polls):
            return try await settle(settlement, pollsToRecord: polls, context)
        case .publish(let record, let deadLetter):
            return try await publish(record, deadLetter: deadLetter, context)
        case .deadLetterStub(let failure, let reason, let record):
            try await deadLetterStub(context.message, info: deadLetterInfo(context.message, record: record, failure: failure), reason: reason)
            return .deadLettered
        case .markPublished:
            let jobID = context.job.jobID
            let ledger = ports.ledger
            _ = try await retry.run("mark published", context.logger) { try await ledger.markPublished(jobID: jobID, at: Date()) }
            return .marked
        case .wait, .finish, .create:
            // Handled by the caller: waits park this job's own task, finish ends it, a
            // create is fetched for and run under the create permit (``run(_:)``).
            throw LedgerError(code: .invalidTransition, message: "job engine: \(effect) is not an I/O effect")
        }
    }

    private func finished(_ ending: JobEnding, machine: JobMachine, _ context: JobContext) {
        let enqueuedAt = context.message.timestamp?.asRFC3339Instant
        switch ending {
        case .succeeded:
            metrics.finished(.succeeded, errorClass: nil, enqueuedAt: enqueuedAt)
            context.logger.info("job succeeded")
        case .failed(let errorClass):
            metrics.finished(.failed, errorClass: errorClass, enqueuedAt: enqueuedAt)
            context.logger.warning("job failed", metadata: ["error_class": "\(errorClass.rawValue)"])
        case .republished:
            metrics.republished()
            context.logger.info("republished the stored result", metadata: ["state": "\(machine.record.state.rawValue)"])
        case .deferredToFirstPayload:
            break
        case .redrive:
            // Another driver moved the job but did not settle it: ``handle(_:)`` takes it
            // up again instead of checkpointing a message whose job has no result.
            break
        }
    }

    /// Claims the create, creates the task and records its id. The claim, the create and
    /// the write run to completion even when the job is cancelled (a revoke): abandoning
    /// them between the provider's accept and the ledger write is what would create a
    /// second task later. The task id write is retried until it is stored, however long
    /// the ledger is away: the id is in hand, and no other path of this driver creates
    /// again for the job meanwhile. Only the ledger can say no: when the claim was taken
    /// over (this pod could not renew it), the write is fenced out and this task is the
    /// one that is lost, logged and counted as orphaned.
    private func create(_ context: JobContext, expectedCreateAttempts: Int, upload: Bool, fetched: SourceFetch?) async throws -> JobEvent {
        try await ports.gate.waitUntilUsable()
        let job = context.job
        let ledger = ports.ledger
        let provider = ports.provider
        let logger = context.logger
        let retry = self.retry
        let renewals = self.renewals
        let metrics = self.metrics
        // The caller holds the create permit (``run(_:)``). The claim, the create and the
        // write run in a task of their own, which a cancelled job does not cancel; the
        // permit goes back when it is done.
        let shielded = Task { () -> (claimed: Int?, outcome: Result<(JobRecord, TaskCreation), any Error>) in
            let creating: JobRecord
            do {
                // Exactly one racer (another pod holding a duplicate) wins the claim.
                creating = try await ledger.claimCreate(jobID: job.jobID, expectedCreateAttempts: expectedCreateAttempts, at: Date())
            } catch {
                return (nil, .failure(error))
            }
            // Keep the claim alive while the create runs (an upload can be long), and
            // while its task id is being written, so nobody mistakes it for a crash's.
            renewals.hold(jobID: job.jobID, createAttempts: creating.createAttempts)
            defer { renewals.release(jobID: job.jobID) }
            let created: TaskCreation
            do {
                created = try await provider.createTask(for: job, upload: upload, fetched: fetched)
            } catch {
                return (creating.createAttempts, .failure(error))
            }
            do {
                let submitted = try await retry.untilStored("record the task id", logger) {
                    try await ledger.recordTask(
                        jobID: job.jobID, taskID: created.taskID, createAttempts: creating.createAttempts, at: Date())
                }
                logger.info("task created", metadata: ["task_id": "\(created.taskID)", "source_mode": "\(created.sourceMode)"])
                return (creating.createAttempts, .success((submitted, created)))
            } catch {
                if let refused = error as? LedgerError, refused.code == .invalidTransition {
                    logger.error(
                        "task orphaned: the create claim was taken over before its task id could be stored",
                        metadata: ["task_id": "\(created.taskID)", "error": "\(refused)"])
                    metrics.taskOrphaned()
                }
                return (creating.createAttempts, .failure(error))
            }
        }
        let (claimed, outcome) = await shielded.value
        switch outcome {
        case .success(let (submitted, created)):
            ports.gate.recordSuccess()
            return .created(record: submitted, taskID: created.taskID, uploadedBytes: created.uploadedBytes)
        case .failure(let error as ProviderFailure):
            try Task.checkCancellation()
            ports.gate.record(error)
            // The claim raised createAttempts: the machine's next claim must expect it.
            let fresh = try? await ledger.record(jobID: job.jobID)
            return .createFailed(error, claimed: claimed, record: fresh)
        case .failure(let error):
            try Task.checkCancellation()
            context.logger.warning("create step failed on our side", metadata: ["error": "\(error)"])
            let fresh = try? await ledger.record(jobID: job.jobID)
            return .createInterrupted(claimed: claimed, record: fresh)
        }
    }

    /// What fetching a document ahead of its create came to.
    enum SourceFetchOutcome: Sendable {
        /// The local copy to upload; nil when the document goes by URL.
        case ready(SourceFetch?)
        /// The fetch failed: the machine hears it as a failed create (no claim was made).
        case failed(JobEvent)
    }

    /// Fetches the document a create will upload, at most
    /// ``JobSettings/maxConcurrentSourceFetches`` at once per pod. A failure is the
    /// document host's, not the provider's: the circuit breaker does not hear of it.
    private func fetchSource(_ context: JobContext, upload: Bool) async throws -> SourceFetchOutcome {
        let provider = ports.provider
        let job = context.job
        do {
            return .ready(try await sourceFetches.withPermit { try await provider.fetchSource(for: job, upload: upload) })
        } catch let error as ProviderFailure {
            try Task.checkCancellation()
            let fresh = try? await ports.ledger.record(jobID: job.jobID)
            return .failed(.createFailed(error, claimed: nil, record: fresh))
        }
    }

    private func poll(_ taskID: String) async throws -> JobEvent {
        try await ports.gate.waitUntilUsable()
        do {
            let reply = try await ports.provider.queryTask(taskID)
            ports.gate.recordSuccess()
            return .polled(reply.record, retryAfter: reply.retryAfter)
        } catch {
            try Task.checkCancellation()
            ports.gate.record(error)
            return .pollFailed(error)
        }
    }

    private func rehost(_ fileURL: String, _ context: JobContext) async throws -> JobEvent {
        guard let rehoster = ports.rehoster else { return .storeFailed }
        switch try await rehoster.rehost(fileURL: fileURL, for: context.job) {
        case .stored(let file):
            metrics.rehosted(bytes: file.sizeBytes ?? 0)
            return .rehosted(file)
        case .providerFailed(let failure):
            if case .retryLater = failure.action { ports.gate.record(failure) }
            return .rehostFailed(failure)
        case .storeFailed(let reason):
            context.logger.warning("result store failed; retrying the rehost", metadata: ["error": "\(reason)"])
            return .storeFailed
        }
    }

    private func settle(_ settlement: JobSettlement, pollsToRecord: Int, _ context: JobContext) async throws -> JobEvent {
        let job = context.job
        let ledger = ports.ledger
        let now = Date()
        let bytes: [UInt8]
        switch settlement {
        case .succeeded(let task, let file, let attempts):
            bytes = JobResult.succeeded(
                job: job, taskID: task.taskID, file: file, timings: timings(context, task: task, now: now), attempts: attempts,
                worker: worker, traceparent: context.traceparent
            ).encodedJSON()
        case .failed(let failure, let task, let attempts):
            bytes = JobResult.failed(
                job: job, taskID: failure.taskID,
                failure: .init(errorClass: failure.errorClass, code: failure.code, message: failure.message),
                timings: timings(context, task: task, now: now), attempts: attempts, worker: worker, traceparent: context.traceparent
            ).encodedJSON()
        }
        // Poll counts are kept in memory and written once, with the result: a lost count
        // after a crash is cheaper than a ledger write per poll.
        let polls = max(0, pollsToRecord)
        do {
            var isSuccess = false
            if case .succeeded = settlement { isSuccess = true }
            let succeeded = isSuccess
            let stored = try await retry.run("store result", context.logger) { () async throws -> JobRecord in
                if succeeded { return try await ledger.complete(jobID: job.jobID, resultMessage: bytes, polls: polls, at: now) }
                return try await ledger.fail(jobID: job.jobID, resultMessage: bytes, polls: polls, at: now)
            }
            return .settled(stored)
        } catch let error as LedgerError where error.code == .invalidTransition {
            return .settleRefused
        }
    }

    /// Sends the row's stored result bytes, and the dead letter when `deadLetter` is set.
    /// A result the broker will never take is the machine's to decide on.
    private func publish(_ record: JobRecord, deadLetter failure: JobFailure?, _ context: JobContext) async throws -> JobEvent {
        guard let bytes = record.resultMessage else { return .sent }
        do {
            try await send(
                OutgoingRecord(topic: settings.resultsTopic, key: Array(record.jobID.utf8), value: bytes, headers: traceHeaders(context.message)),
                context.logger)
        } catch let refused as PermanentDependencyFailure where refused.kind == .tooLarge {
            context.logger.error("result too large for the broker", metadata: ["result_bytes": "\(bytes.count)"])
            return .resultTooLarge(bytes: bytes.count)
        }
        if let failure {
            try await deadLetter(context.message, info: deadLetterInfo(context.message, record: record, failure: failure))
        }
        return .sent
    }

    private func note(_ note: JobNote, _ context: JobContext) {
        let logger = context.logger
        switch note {
        case .resumed(let taskID):
            logger.info("resuming the recorded task", metadata: ["task_id": "\(taskID)"])
        case .claimAwaited:
            metrics.createClaimAwaited()
            logger.info("another driver is creating this job's task; waiting for its task id")
        case .claimTakenOver(let age, let attempts):
            metrics.createClaimTakenOver()
            logger.warning(
                "taking over a create claim nobody renewed (a crash inside a create call): the provider may hold a second task for this job",
                metadata: ["claim_age_seconds": "\(Int(exactly: age.rounded(.down)) ?? -1)", "create_attempts": "\(attempts)"])
        case .claimHandedOver(let taskID):
            logger.info("the other driver recorded its task; polling it", metadata: ["task_id": "\(taskID)"])
        case .uploadingInstead:
            logger.info("the provider could not fetch the document; uploading it ourselves")
        case .recreating(let reason, let count):
            metrics.recreate()
            logger.warning("re-creating the task", metadata: ["reason": "\(reason)", "recreate": "\(count)"])
        case .taskEnded(let seconds, let state):
            metrics.taskEnded(after: .seconds(seconds), state: "\(state)")
        case .taskTimed(let timing):
            durationModel.record(timing)
            metrics.taskPolled(polls: timing.polls)
            metrics.pollPlanModels(durationModel.summary)
        case .pollPlanned(let basis):
            metrics.pollPlanned(basis.label)
        case .resultStoreFailed:
            logger.warning("result store failed; fetching the result again later")
        case .otherPayload(let first):
            logger.warning(
                "job id seen again with another payload; the first one wins",
                metadata: ["first_fingerprint": "\(first)", "this_fingerprint": "\(context.job.fingerprint)"])
        case .resultTooLarge(let bytes):
            logger.error("result too large for the broker: dead-lettering a stub", metadata: ["result_bytes": "\(bytes)"])
        case .settledWithoutResult:
            logger.error("settled job without a stored result")
        case .unexpected(let event, let phase):
            logger.error("job engine: unexpected event", metadata: ["event": "\(event)", "phase": "\(phase.rawValue)"])
        }
    }

    private func timings(_ context: JobContext, task: TaskRecord?, now: Date) -> JobResult.Timings {
        JobResult.Timings(
            enqueuedAt: context.message.timestamp?.asRFC3339Instant, taskCreatedAt: task?.createdAt?.date.asRFC3339Instant,
            taskProcessedAt: task?.processedAt?.date.asRFC3339Instant, taskCompletedAt: task?.completedAt?.date.asRFC3339Instant,
            publishedAt: now)
    }
}
