public import Kafka
public import Logging
import Synchronization

/// Settings of ``JobConsumerLoop``.
public struct ConsumptionSettings: Sendable, Hashable {
    /// Jobs in flight per pod before fetching pauses.
    public var maxInFlight: Int
    /// Fetching resumes when in-flight jobs fall to this many.
    public var resumeBelow: Int
    /// How often finished offsets are committed (they are also committed on revoke and
    /// at shutdown).
    public var commitInterval: Duration
    /// How long shutdown waits for in-flight jobs to reach a checkpoint.
    public var drainTimeout: Duration
    /// How long a revoke waits for its cancelled jobs to stop.
    public var revokeTimeout: Duration

    public init(
        maxInFlight: Int = 64,
        resumeBelow: Int? = nil,
        commitInterval: Duration = .seconds(1),
        drainTimeout: Duration = .seconds(30),
        revokeTimeout: Duration = .seconds(10)
    ) {
        self.maxInFlight = maxInFlight
        self.resumeBelow = resumeBelow ?? maxInFlight / 2
        self.commitInterval = commitInterval
        self.drainTimeout = drainTimeout
        self.revokeTimeout = revokeTimeout
    }
}

/// Consumes job messages and runs each through a ``MessageHandler``, with:
/// - a cap on jobs in flight (fetching pauses at the cap and resumes at a low-water
///   mark, while librdkafka is still polled so the pod stays in its group);
/// - per-partition commits of the offset below which every job reached a checkpoint,
///   periodically, in the revoke hook, and at shutdown;
/// - on revoke: no new jobs for those partitions, their in-flight jobs cancelled (the
///   next owner resumes them from the ledger), a commit, then the revoke completes;
/// - a graceful stop (``stop()``): fetching pauses, in-flight jobs get ``ConsumptionSettings/drainTimeout``
///   to finish, the rest are cancelled, offsets are committed and the group is left.
public final class JobConsumerLoop: Sendable {
    public let settings: ConsumptionSettings
    private let consumerConfiguration: KafkaConsumerConfiguration
    private let topics: [String]
    private let handler: any MessageHandler
    private let logger: Logger
    private let state: Mutex<ConsumptionState>
    private let consumer = Mutex<KafkaConsumer?>(nil)
    private let stopRequested = Mutex(StopRequest())
    private struct StopRequest {
        var requested = false
        /// Set by cancellation: in-flight jobs are cancelled at once instead of drained.
        var urgent = false
        var messageLoop: Task<Void, Never>?
    }
    /// The message loop, parked until a job ends when the cap is reached.
    private let capacityWaiter = Mutex<CheckedContinuation<Void, Never>?>(nil)

    public init(
        consumer configuration: KafkaConsumerConfiguration,
        topics: [String],
        handler: any MessageHandler,
        settings: ConsumptionSettings,
        logger: Logger
    ) {
        self.consumerConfiguration = configuration
        self.topics = topics
        self.handler = handler
        self.settings = settings
        self.logger = logger
        state = Mutex(ConsumptionState(maxInFlight: settings.maxInFlight, resumeBelow: settings.resumeBelow))
    }

    /// Jobs started and not yet at a checkpoint.
    public var inFlight: Int { state.withLock { $0.inFlight } }
    /// Records taken and not yet covered by a commit (see ``OffsetTracker/uncommitted``).
    public var uncommittedRecords: Int64 { state.withLock { $0.tracker.uncommitted } }
    /// Age of the oldest job still running (nil when none runs).
    public var oldestJobAge: Duration? { state.withLock { $0.oldestStart }.map { ContinuousClock.now - $0 } }
    /// Jobs running for longer than `limit`: stalled, since no rule lets a job live that
    /// long (they hold their partition's commits back).
    public func stalledJobs(olderThan limit: Duration) -> Int {
        let cutoff = ContinuousClock.now - limit
        return state.withLock { $0.runningSince(before: cutoff) }
    }
    /// Partitions this member owns.
    public var assignment: Set<TopicPartition> { state.withLock { $0.assignment } }
    /// Whether fetching is paused (capacity, provider, or shutdown).
    public var isPaused: Bool { state.withLock { $0.isPaused } }
    /// The consumer's latest librdkafka statistics (consumer lag).
    public var statistics: KafkaStatistics? { consumer.withLock { $0 }?.statistics }

    /// The consumer's fatal and authorization errors; nil before it exists.
    public var consumerHealth: KafkaConsumerHealth? { consumer.withLock { $0 }?.health }

    /// How long ago the consumer's poll loop last turned; nil before it exists or after it ended.
    public var sinceLastPoll: Duration? { consumer.withLock { $0 }?.sinceLastPoll }

    /// Joins the group and processes messages until ``stop()``, then drains, commits and
    /// leaves the group. Returns when all of that is done.
    ///
    /// Cancelling the calling task is a stop too, an urgent one: in-flight jobs are
    /// cancelled instead of drained (their next owner resumes them from the ledger), and
    /// the offsets they reached are still committed before the group is left. Without
    /// this, a cancelled caller (a service group cancelling its services) would wait
    /// forever on the message loop, which is an unstructured task that cancellation of
    /// the caller does not reach.
    public func run() async throws {
        let handler = KafkaRebalanceHandler(
            onAssign: { [weak self] partitions in self?.assigned(partitions) },
            onRevoke: { [weak self] partitions, lost in await self?.revoke(partitions, lost: lost) }
        )
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, rebalanceHandler: handler, logger: logger)
        self.consumer.withLock { $0 = consumer }
        try consumer.subscribe(topics: topics)
        logger.info("consuming", metadata: ["topics": "\(topics)", "group": "\(consumerConfiguration.groupID)"])

        let messageLoop = Task { await self.consume(consumer) }
        let alreadyStopped = stopRequested.withLock { s -> Bool in
            s.messageLoop = messageLoop
            return s.requested
        }
        if alreadyStopped { messageLoop.cancel() }

        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                // Periodic commits go on while in-flight jobs drain, so jobs finishing then
                // are committed even if the final commit never happens (a SIGKILL mid-drain)...
                group.addTask { await self.commitPeriodically(consumer) }
                await messageLoop.value
                logger.info("message loop ended")
                await drainJobs()
                group.cancelAll()
            }
            // ...but they have stopped before the consumer closes: no commit may race the
            // close sequence.
            await commit(consumer, only: nil)
            logger.info("leaving the group")
            await consumer.close()
            logger.info("consumer closed")
        } onCancel: {
            self.stop(urgent: true)
        }
    }

    /// Begins the graceful stop; ``run()`` returns when it is complete.
    public func stop() {
        stop(urgent: false)
    }

    private func stop(urgent: Bool) {
        let loop = stopRequested.withLock { s -> Task<Void, Never>? in
            s.requested = true
            s.urgent = s.urgent || urgent
            return s.messageLoop
        }
        loop?.cancel()
        // An urgent stop may come while the drain already waits: cut it short.
        if urgent { cancelAllJobs() }
    }

    /// Whether ``stop()`` was called (or the run was cancelled): the loop is winding down.
    public var isStopping: Bool { stopRequested.withLock { $0.requested } }

    /// The provider became (un)usable: pause or resume fetching.
    public func providerUsable(_ usable: Bool) {
        let (pause, resume) = state.withLock { $0.providerUsable(usable) }
        if !pause.isEmpty { logger.warning("provider unusable: pausing consumption", metadata: ["partitions": "\(pause.count)"]) }
        if !resume.isEmpty { logger.info("provider usable again: resuming consumption") }
        apply(pause: pause, resume: resume)
    }

    // MARK: Messages

    private func consume(_ consumer: KafkaConsumer) async {
        var messages = consumer.messages.makeAsyncIterator()
        while !Task.isCancelled {
            // At the cap, take no further message (fetching is paused too): the cap
            // bounds the jobs in flight, not only what is fetched.
            await waitForCapacity()
            guard !Task.isCancelled, let message = await messages.next() else { break }
            let pause = state.withLock { s -> [TopicPartition] in
                let (start, pause) = s.accept(message)
                guard start else { return pause }
                // Made and registered under the lock, so a revoke either sees the job
                // (and cancels it) or runs before it is accepted (and it is refused).
                // An unstructured task: the message loop must not wait for the job.
                let task = Task {
                    var checkpointed = false
                    do {
                        try await self.handler.handle(message)
                        checkpointed = true
                    } catch {
                        // Cancelled: the offset stays uncommitted and the next owner resumes.
                    }
                    let resume = self.state.withLock { $0.ended(message, checkpointed: checkpointed) }
                    self.apply(pause: [], resume: resume)
                    self.wakeMessageLoop()
                }
                s.register(message, task: task, at: .now)
                return pause
            }
            apply(pause: pause, resume: [])
        }
    }

    /// Resumes the message loop if it is parked in ``waitForCapacity()``.
    private func wakeMessageLoop() {
        capacityWaiter.withLock { waiter in
            defer { waiter = nil }
            return waiter
        }?.resume()
    }

    private func waitForCapacity() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { $0.hasCapacity }
                if ready || Task.isCancelled { return c.resume() }
                capacityWaiter.withLock { $0 = c }
                // A job may have ended, or stop() cancelled us, between the check and
                // the install: then nobody else will resume this continuation.
                if state.withLock({ $0.hasCapacity }) || Task.isCancelled {
                    wakeMessageLoop()
                }
            }
        } onCancel: {
            wakeMessageLoop()
        }
    }

    // MARK: Commits

    private func commitPeriodically(_ consumer: KafkaConsumer) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.commitInterval)
            await commit(consumer, only: nil)
        }
    }

    private func commit(_ consumer: KafkaConsumer, only partitions: Set<TopicPartition>?) async {
        let pending = state.withLock { $0.tracker.pendingCommits(for: partitions) }
        guard !pending.isEmpty else { return }
        do {
            try await consumer.commit(pending)
            state.withLock { $0.tracker.committed(pending) }
            logger.debug("committed", metadata: ["offsets": "\(pending)"])
        } catch {
            logger.warning("commit failed; the next commit carries the same offsets", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Rebalance

    private func assigned(_ partitions: [TopicPartition]) {
        let pause = state.withLock { $0.assigned(partitions) }
        apply(pause: pause, resume: [])
    }

    private func revoke(_ partitions: [TopicPartition], lost: Bool) async {
        let tasks = state.withLock { $0.revoking(partitions) }
        for t in tasks { t.cancel() }
        let stopped = await waitForAll(tasks, timeout: settings.revokeTimeout)
        if !stopped { logger.error("jobs of revoked partitions did not stop in time", metadata: ["partitions": "\(partitions)"]) }
        if !lost, let consumer = consumer.withLock({ $0 }) {
            await commit(consumer, only: Set(partitions))
        }
        let resume = state.withLock { $0.forget(partitions) }
        apply(pause: [], resume: resume)
        wakeMessageLoop()
    }

    // MARK: Shutdown

    /// Shutdown, first part: pause fetching, give in-flight jobs the drain timeout,
    /// cancel the rest (their next owner resumes them from the ledger).
    private func drainJobs() async {
        let pause = state.withLock { $0.startDraining() }
        apply(pause: pause, resume: [])
        let tasks = state.withLock { $0.allTasks }
        let urgent = stopRequested.withLock { $0.urgent }
        let timeout = urgent ? .zero : settings.drainTimeout
        if urgent {
            logger.warning("urgent stop (the run was cancelled): in-flight jobs are cancelled, not drained; their next owner resumes them")
        }
        logger.info("draining", metadata: ["in_flight": "\(tasks.count)", "timeout": "\(timeout)"])
        if !(await waitForAll(tasks, timeout: timeout)) {
            let left = state.withLock { $0.allTasks }
            logger.warning("drain timeout: cancelling unfinished jobs; their next owner resumes them", metadata: ["jobs": "\(left.count)"])
            for t in left { t.cancel() }
            _ = await waitForAll(left, timeout: settings.revokeTimeout)
        }
    }

    /// Cancels every in-flight job (an urgent stop).
    private func cancelAllJobs() {
        for t in state.withLock({ $0.allTasks }) { t.cancel() }
    }

    /// Waits for every task, up to `timeout`. Returns false on timeout. (A task group
    /// would not do: it waits for its children, and awaiting a task's value cannot be
    /// cancelled.)
    private func waitForAll(_ tasks: [Task<Void, Never>], timeout: Duration) async -> Bool {
        guard !tasks.isEmpty else { return true }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = ResumeOnce(continuation)
            Task {
                for t in tasks { await t.value }
                once.resume(true)
            }
            Task {
                try? await Task.sleep(for: timeout)
                once.resume(false)
            }
        }
    }

    private func apply(pause: [TopicPartition], resume: [TopicPartition]) {
        guard !pause.isEmpty || !resume.isEmpty, let consumer = consumer.withLock({ $0 }) else { return }
        do {
            if !pause.isEmpty { try consumer.pause(pause) }
            if !resume.isEmpty { try consumer.resume(resume) }
        } catch {
            logger.warning("pause/resume failed", metadata: ["error": "\(error)"])
        }
    }
}
