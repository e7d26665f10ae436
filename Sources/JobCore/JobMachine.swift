public import Foundation
import JobContract
import OCRTaskAPI
public import PollPlanning

/// One job's life as a value: a pure transition function from (phase, event) to (phase,
/// effect). Every rule of the job's processing (docs/architecture.md, as the
/// worker applies them) is a row here and only here; ``JobRunner`` performs the effects
/// through ports and feeds back what happened. No I/O, no clock reads, no sleeps: the
/// time comes in with each event, so a unit test drives a job's whole life in
/// microseconds (Tests/WorkerTests/JobMachineTests.swift).
///
/// The table is ``transitions`` (JobMachine+Table.swift): one row per rule, rendered in
/// docs/architecture.md.
///
/// 401 and the circuit breaker are not rows: the runner waits at the provider gate before
/// every create and poll, so a paused provider holds jobs where they are, and no failure
/// of the deployment ever fails a job.
public struct JobMachine: Sendable {
    /// The bounds and timings the rules use.
    public struct Rules: Sendable, Hashable {
        public var maxRecreates: Int
        public var taskTimeout: Duration
        public var pollBackoff: PollBackoff
        public var createClaimTimeout: Duration
        public var dependencyRetryDelay: Duration
        /// Stream results into the result store (false: pass the provider's URL through).
        public var rehost: Bool
        public var resultURLLifetime: Duration
        /// Fresh result URLs asked for per task before it is re-created.
        public var maxRefetches: Int
        /// Places the polls of a task (a snapshot of the learned durations for this job's
        /// key); nil: ``pollBackoff`` does, as before the planner.
        public var pollPlanner: PollPlanner?

        public init(
            maxRecreates: Int, taskTimeout: Duration, pollBackoff: PollBackoff, createClaimTimeout: Duration,
            dependencyRetryDelay: Duration, rehost: Bool, resultURLLifetime: Duration, maxRefetches: Int = 2,
            pollPlanner: PollPlanner? = nil
        ) {
            self.pollPlanner = pollPlanner
            self.maxRecreates = maxRecreates
            self.taskTimeout = taskTimeout
            self.pollBackoff = pollBackoff
            self.createClaimTimeout = createClaimTimeout
            self.dependencyRetryDelay = dependencyRetryDelay
            self.rehost = rehost
            self.resultURLLifetime = resultURLLifetime
            self.maxRefetches = maxRefetches
        }
    }

    /// The time of an event: the monotonic instant for durations, the wall clock for
    /// what is compared with other machines (ledger timestamps, the provider's
    /// `created_at`, the job's deadline).
    public struct Now: Sendable, Hashable {
        public var instant: ContinuousClock.Instant
        public var date: Date
        public init(instant: ContinuousClock.Instant, date: Date) {
            self.instant = instant
            self.date = date
        }
    }

    /// One transition's output.
    public struct Step: Sendable, Equatable {
        public var effect: JobEffect
        public var notes: [JobNote]
    }

    /// What the first look at the ledger row means for this delivery.
    public enum Opening: Sendable, Hashable {
        /// Drive the job (or republish it, when it is settled).
        case drive
        /// A dead-letter replay of a failed job: reopen the row, then drive it.
        case reopenForReplay
        /// Another payload owns this job id and is not settled: its own delivery drives
        /// it; this one does nothing (its offset still commits).
        case deferToFirstPayload
    }

    public private(set) var phase: JobPhase = .accepted
    public private(set) var rules: Rules
    public let deadline: Date?
    /// The media type of the job's result format (pass-through results carry it).
    public let resultContentType: String
    /// The latest ledger row this driver knows.
    public private(set) var record: JobRecord
    public private(set) var taskID: String?
    /// When the current task started, dated back to the provider's `created_at` when that
    /// is earlier (a resumed task keeps its deadline).
    public private(set) var taskStartedAt: ContinuousClock.Instant
    /// Polls of the current task (drive the backoff).
    public private(set) var polls = 0
    /// What the current task's polls showed: the planner's input.
    public private(set) var pollHistory = TaskPollHistory()
    /// Polls not yet added to the ledger row: written with the next settle, not per poll.
    public private(set) var unrecordedPolls = 0
    public private(set) var recreates = 0
    public private(set) var uploadInstead = false
    public private(set) var refetches = 0
    /// `createAttempts` of the last claim this driver made: a `creating` row with
    /// another count is someone else's claim.
    public private(set) var ownClaim: Int?
    private var claimAwaited = false
    private var lastTask: TaskRecord?
    private var failure: JobFailure?
    private var republishing = false
    private var afterRefusal = false

    public init(record: JobRecord, deadline: Date?, resultContentType: String, rules: Rules, now: Now) {
        self.record = record
        self.deadline = deadline
        self.resultContentType = resultContentType
        self.rules = rules
        taskStartedAt = now.instant
    }

    // MARK: Opening

    /// Decides what a delivery does with the row `accept` returned.
    public static func opening(record: JobRecord, isNew: Bool, fingerprint: String, isReplay: Bool) -> Opening {
        if !isNew, record.fingerprint != fingerprint, !record.fingerprint.hasPrefix("invalid:"), !record.state.isSettled {
            return .deferToFirstPayload
        }
        if record.state == .failed, record.publishedAt != nil, isReplay { return .reopenForReplay }
        return .drive
    }

    /// The first step of a driver.
    public mutating func start(at now: Now) -> Step {
        if record.state.isSettled { return republish(record) }
        if record.state == .submitted, let id = record.taskID {
            taskID = id
            return proceed(now, notes: [.resumed(taskID: id)])
        }
        return proceed(now)
    }

    /// Places the polls of the task about to be followed with `planner` instead: the
    /// runner's, keyed by what the create told of the source (its uploaded size).
    public mutating func planPolls(with planner: PollPlanner) {
        rules.pollPlanner = planner
    }

    // MARK: The table

    /// Applies one event. See the table in the type's documentation.
    public mutating func handle(_ event: JobEvent, at now: Now) -> Step {
        switch (phase, event) {
        case (.awaitingClaim, .woke):
            return Step(effect: .readLedger, notes: [])
        case (.awaitingClaim, .ledgerRead(let fresh)):
            if let fresh { record = fresh }
            if record.state == .submitted, let id = record.taskID {
                // The claim's holder recorded its task: poll that one, never a second.
                follow(id, now)
                return proceed(now, notes: [.claimHandedOver(taskID: id)])
            }
            return proceed(now)
        case (_, .woke):
            return proceed(now)

        case (.creating, .created(let submitted, let id, _)):
            record = submitted
            ownClaim = submitted.createAttempts
            follow(id, now)
            phase = .polling
            return firstPoll(now)
        case (.creating, .createFailed(let error, let claimed, let fresh)):
            if let claimed { ownClaim = claimed }
            if let fresh { record = fresh }
            switch error.action {
            case .permanentFailure where error.isForbiddenAddress:
                // Our own download of the source (an upload) was refused by the address rule.
                return fail(.sourceUnreachable, code: error.code, message: error.message, now)
            case .permanentFailure:
                return fail(.providerRejected, code: error.code, message: error.message, now)
            case .uploadFileInstead where !uploadInstead:
                uploadInstead = true
                return proceed(now, notes: [.uploadingInstead])
            case .uploadFileInstead:
                return fail(.sourceUnreachable, code: error.code, message: error.message, now)
            default:
                return Step(effect: .wait(until: now.instant + rules.pollBackoff.cap), notes: [])
            }
        case (.creating, .createInterrupted(let claimed, let fresh)):
            if let claimed { ownClaim = claimed }
            if let fresh { record = fresh }
            if record.state == .submitted, let id = record.taskID {
                follow(id, now)
                phase = .polling
                return firstPoll(now)
            }
            phase = .awaitingClaim
            return Step(effect: .wait(until: now.instant + rules.dependencyRetryDelay), notes: [])

        case (.polling, .polled(let task, let retryAfter)):
            return polled(task, retryAfter: retryAfter, now)
        case (.polling, .pollFailed(let error)):
            switch error.action {
            case .recreateTask:
                return recreate("the provider lost the task", failure: (.providerFailed, "http_404"), now)
            case .permanentFailure:
                return fail(.providerRejected, code: error.code, message: error.message, now)
            default:
                return Step(effect: .wait(until: now.instant + rules.pollBackoff.first), notes: [])
            }

        case (.rehosting, .rehosted(var file)):
            guard let task = lastTask else { return unexpected(event, now) }
            file.fileURLExpiresAt = resultURLExpiry(task, now)
            return settle(.succeeded(task: task, file: file, attempts: attempts))
        case (.rehosting, .rehostFailed(let error)):
            switch error.action {
            case .refreshResultURL where refetches < rules.maxRefetches:
                refetches += 1
                phase = .polling
                return proceed(now)
            case .refreshResultURL:
                return recreate("the result file could not be fetched", failure: (.rehostFailed, "result_unavailable"), now)
            case .retryLater:
                phase = .polling
                return Step(effect: .wait(until: now.instant + rules.pollBackoff.first), notes: [])
            default:
                return fail(.rehostFailed, code: "rehost", message: error.message, now)
            }
        case (.rehosting, .storeFailed):
            phase = .polling
            return Step(effect: .wait(until: now.instant + rules.pollBackoff.cap), notes: [.resultStoreFailed])

        case (.settling, .settled(let stored)):
            record = stored
            unrecordedPolls = 0
            phase = .publishing
            return Step(effect: .publish(stored, deadLetter: failure), notes: [])
        case (.settling, .settleRefused):
            afterRefusal = true
            return Step(effect: .readLedger, notes: [])
        case (.settling, .ledgerRead(let fresh)) where afterRefusal:
            guard let fresh, fresh.state.isSettled else { return finish(.redrive) }
            return republish(fresh)

        case (.publishing, .sent), (.publishing, .deadLettered):
            if record.state == .completed || (record.state == .failed && record.publishedAt == nil) {
                phase = .markingPublished
                return Step(effect: .markPublished, notes: [])
            }
            return finish(ending)
        case (.publishing, .resultTooLarge(let bytes)):
            // The result can never be published as it is: a stub dead letter says so, and
            // the row is then marked published, so a redelivery does not run this again.
            // Ops raise the broker's limit and replay.
            let tooLarge = JobFailure(
                .internal, code: "result_too_large",
                message: "the job's result (\(bytes) bytes) is too large for the broker (message.max.bytes)", taskID: record.taskID)
            failure = tooLarge
            republishing = false
            return Step(
                effect: .deadLetterStub(tooLarge, reason: "the result was too large for the broker", record: record),
                notes: [.resultTooLarge(bytes: bytes)])
        case (.markingPublished, .marked):
            return finish(ending)

        default:
            return unexpected(event, now)
        }
    }

    // MARK: Rows shared by several phases

    /// The top of the loop: the deadline, then create (or wait for another driver's
    /// claim), then poll.
    private mutating func proceed(_ now: Now, notes: [JobNote] = []) -> Step {
        if let deadline, now.date > deadline {
            return fail(.deadlineExceeded, code: "deadline", message: "the job's deadline passed", now, notes: notes)
        }
        guard let taskID else { return createOrAwaitClaim(now, notes: notes) }
        if now.instant - taskStartedAt > rules.taskTimeout {
            return recreate("task exceeded the task timeout", failure: (.providerFailed, "task_timeout"), now, notes: notes)
        }
        phase = .polling
        return Step(effect: .poll(taskID: taskID), notes: notes)
    }

    private mutating func createOrAwaitClaim(_ now: Now, notes: [JobNote]) -> Step {
        var notes = notes
        if record.state != .creating || record.createAttempts == ownClaim {
            return create(notes)
        }
        // A claim that is not ours: another driver's create call, or a crash's. Its age by
        // the ledger's clock when the ledger measures it (shared: pods' clocks differ).
        let age = record.claimAge ?? now.date.timeIntervalSince(record.updatedAt)
        if age > rules.createClaimTimeout.timeInterval {
            notes.append(.claimTakenOver(age: age, createAttempts: record.createAttempts))
            return create(notes)
        }
        if !claimAwaited {
            claimAwaited = true
            notes.append(.claimAwaited)
        }
        phase = .awaitingClaim
        return Step(effect: .wait(until: now.instant + rules.pollBackoff.first), notes: notes)
    }

    private mutating func create(_ notes: [JobNote]) -> Step {
        switch record.state {
        case .completed, .published, .failed:
            // Settled under another driver while we waited.
            var step = republish(record)
            step.notes = notes + step.notes
            return step
        default:
            phase = .creating
            return Step(effect: .create(expectedCreateAttempts: record.createAttempts, upload: uploadInstead), notes: notes)
        }
    }

    private mutating func polled(_ task: TaskRecord, retryAfter: Duration?, _ now: Now) -> Step {
        polls += 1
        unrecordedPolls += 1
        lastTask = task
        noteProviderCreation(task.createdAt?.date, now)
        let action = OutcomePolicy.action(for: task.state)
        var notes: [JobNote] = []
        switch action {
        case .keepPolling, .retryLater:
            let elapsed = now.instant - taskStartedAt
            if let planner = rules.pollPlanner {
                pollHistory.recordPending(at: elapsed, progress: task.progress)
                let decision = planner.nextPoll(elapsed: elapsed, history: pollHistory, progress: task.progress, retryAfter: retryAfter)
                return Step(effect: .wait(until: now.instant + decision.delay), notes: [.pollPlanned(decision.basis)])
            }
            // Without the planner a Retry-After still postpones the poll.
            let delay = max(rules.pollBackoff.delay(afterPolls: polls, progress: task.progress, elapsed: elapsed), retryAfter ?? .zero)
            return Step(effect: .wait(until: now.instant + delay), notes: [])
        default:
            notes.append(.taskEnded(seconds: (now.instant - taskStartedAt).timeInterval, state: task.state.rawValue))
            if action == .done, let planner = rules.pollPlanner {
                notes.append(
                    .taskTimed(
                        pollHistory.completion(
                            key: planner.key, doneAt: now.instant - taskStartedAt, providerDuration: task.providerDuration)))
            }
        }
        let state = task.state.rawValue
        switch action {
        case .done:
            guard let file = task.file, !file.isEmpty else {
                return recreate("a successful task without a result file", failure: (.providerFailed, "no_file"), now, notes: notes)
            }
            if rules.rehost {
                phase = .rehosting
                return Step(effect: .rehost(taskID: task.taskID, fileURL: file), notes: notes)
            }
            let passed = JobResult.ResultFile(
                fileURL: file, fileURLExpiresAt: resultURLExpiry(task, now), location: nil, sizeBytes: nil, sha256: nil,
                contentType: resultContentType)
            var step = settle(.succeeded(task: task, file: passed, attempts: attempts))
            step.notes = notes
            return step
        case .recreateTask:
            let reason = "task state \(state): \(task.stateDetail ?? "")"
            return recreate(reason, failure: (.providerFailed, "\(state)"), now, notes: notes)
        case .uploadFileInstead where uploadInstead:
            return fail(
                .sourceUnreachable, code: "\(state)",
                message: "the provider could not fetch the document, even when uploaded by the worker", now, notes: notes)
        case .uploadFileInstead:
            uploadInstead = true
            taskID = nil
            return proceed(now, notes: notes + [.uploadingInstead])
        default:
            let message = task.stateDetail.map { "task state \(state): \($0)" } ?? "task state \(state)"
            return fail(.providerRejected, code: "\(state)", message: message, now, notes: notes)
        }
    }

    /// A new task, or the failure when the re-creates are used up.
    private mutating func recreate(_ reason: String, failure: (ErrorClass, String), _ now: Now, notes: [JobNote] = []) -> Step {
        guard recreates < rules.maxRecreates else {
            return fail(failure.0, code: failure.1, message: "\(reason); gave up after \(recreates + 1) tasks", now, notes: notes)
        }
        recreates += 1
        taskID = nil
        refetches = 0
        return proceed(now, notes: notes + [.recreating(reason: reason, count: recreates)])
    }

    /// The one failure exit: store, publish and dead-letter a failed result.
    private mutating func fail(_ errorClass: ErrorClass, code: String, message: String, _ now: Now, notes: [JobNote] = []) -> Step {
        let failure = JobFailure(errorClass, code: code, message: message, taskID: taskID)
        self.failure = failure
        var step = settle(.failed(failure, task: nil, attempts: attempts))
        step.notes = notes
        return step
    }

    private mutating func settle(_ settlement: JobSettlement) -> Step {
        phase = .settling
        return Step(effect: .settle(settlement, pollsToRecord: unrecordedPolls), notes: [])
    }

    /// Sends a settled row's stored bytes again (and its dead letter, when a crash may
    /// have come before it went out).
    private mutating func republish(_ settled: JobRecord) -> Step {
        record = settled
        republishing = true
        guard let bytes = settled.resultMessage else { return finish(.republished, notes: [.settledWithoutResult]) }
        phase = .publishing
        var deadLetter: JobFailure?
        if settled.state == .failed, settled.publishedAt == nil, let stored = StoredFailure(bytes) {
            deadLetter = JobFailure(stored.errorClass, code: stored.code, message: stored.message, taskID: settled.taskID)
        }
        failure = deadLetter
        return Step(effect: .publish(settled, deadLetter: deadLetter), notes: [])
    }

    private mutating func finish(_ ending: JobEnding, notes: [JobNote] = []) -> Step {
        phase = .published
        return Step(effect: .finish(ending), notes: notes)
    }

    private mutating func unexpected(_ event: JobEvent, _ now: Now) -> Step {
        finish(.redrive, notes: [.unexpected(event: "\(event)".prefix(80).description, phase: phase)])
    }

    // MARK: Helpers

    private var ending: JobEnding {
        if republishing { return .republished }
        if let failure { return .failed(failure.errorClass) }
        return .succeeded
    }

    private var attempts: JobResult.Attempts {
        .init(creates: record.createAttempts, polls: record.pollAttempts.addingSaturating(unrecordedPolls))
    }

    /// Starts following a task that was just created or recorded: its own clock and
    /// poll count.
    private mutating func follow(_ id: String, _ now: Now) {
        taskID = id
        taskStartedAt = now.instant
        polls = 0
        pollHistory = TaskPollHistory()
        refetches = 0
    }

    /// When the provider's result URL stops working: its lifetime from the task's
    /// completion (the provider's `completed_at`), or from now when it sent none. Computed
    /// here only, for pass-through and rehosted results alike.
    private func resultURLExpiry(_ task: TaskRecord, _ now: Now) -> Date {
        (task.completedAt?.date.asRFC3339Instant ?? now.date).addingTimeInterval(rules.resultURLLifetime.timeInterval)
    }

    /// The wait between a create and the task's first poll.
    private func firstPoll(_ now: Now) -> Step {
        guard let planner = rules.pollPlanner else {
            return Step(effect: .wait(until: now.instant + rules.pollBackoff.first), notes: [])
        }
        let decision = planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil)
        return Step(effect: .wait(until: now.instant + decision.delay), notes: [.pollPlanned(decision.basis)])
    }

    /// Dates the task's start back to the provider's `created_at` when that is earlier:
    /// a task resumed after a restart or a rebalance keeps its original deadline. Ages
    /// below zero or over a week are clock trouble (or a hostile reply) and ignored.
    /// `created_at` is whole seconds, so a task created a moment ago reads as up to a
    /// second older: a start less than a second earlier than ours is that rounding, not
    /// a resumed task, and is not taken (the poll planner would learn the phantom second
    /// into every duration).
    private mutating func noteProviderCreation(_ createdAt: Date?, _ now: Now) {
        guard let createdAt else { return }
        let age = now.date.timeIntervalSince(createdAt)
        guard age.isFinite, age > 0, age < 7 * 24 * 3600 else { return }
        let start = now.instant - .milliseconds(Int64(age * 1000))
        if start < taskStartedAt - .seconds(1) { taskStartedAt = start }
    }
}

extension Int {
    /// `self + other`, clamped at the ends instead of trapping (counts read from a ledger
    /// row are outside data).
    func addingSaturating(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
