internal import Crdkafka
import Dispatch
public import Logging
import Synchronization

/// A member of a Kafka consumer group.
///
/// - Messages arrive through ``messages``; nothing is committed automatically. Commit
///   explicit offsets with ``commit(_:)`` (awaited) or ``scheduleCommit(_:)``
///   (fire-and-forget).
/// - Rebalances call the ``KafkaRebalanceHandler`` given at creation; its revoke hook
///   runs before the revoke completes.
/// - ``pause(_:)`` and ``resume(_:)`` stop and restart fetching of partitions while the
///   member stays in its group, however long the pause.
/// - ``close()`` leaves the group (running the revoke hook) within
///   ``KafkaConsumerConfiguration/closeTimeout`` and never hangs longer.
public final class KafkaConsumer: Sendable {
    public let configuration: KafkaConsumerConfiguration
    /// The records of the subscribed topics; ends when the consumer is closed.
    public let messages: KafkaConsumerMessages

    private let client: RDKafkaClient
    private let state: Mutex<ConsumerStateMachine>
    private let continuation: AsyncStream<KafkaConsumerMessages.Fetched>.Continuation
    private let rebalanceHandler: KafkaRebalanceHandler
    private let logger: Logger
    private let loop: Mutex<PollLoop?> = Mutex(nil)
    private let healthState = Mutex(KafkaConsumerHealth())

    public init(
        configuration: KafkaConsumerConfiguration,
        rebalanceHandler: KafkaRebalanceHandler = KafkaRebalanceHandler(),
        logger: Logger
    ) throws(KafkaError) {
        self.configuration = configuration
        self.rebalanceHandler = rebalanceHandler
        self.logger = logger
        let events =
            RD_KAFKA_EVENT_FETCH | RD_KAFKA_EVENT_REBALANCE | RD_KAFKA_EVENT_OFFSET_COMMIT
            | RD_KAFKA_EVENT_LOG | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_STATS
        client = try RDKafkaClient.make(
            kind: .consumer,
            properties: configuration.librdkafkaProperties,
            events: events,
            logger: logger
        )
        state = Mutex(ConsumerStateMachine(bufferedMessagesLimit: configuration.bufferedMessagesLimit))
        // Unbounded here, bounded in effect: at the high-water mark the consumer pauses
        // fetching (see ConsumerStateMachine), so at most one fetch batch overshoots.
        let (stream, continuation) = AsyncStream.makeStream(of: KafkaConsumerMessages.Fetched.self)
        self.continuation = continuation
        let taken = Box()
        messages = KafkaConsumerMessages(stream: stream, taken: { taken.consumer?.value?.messageTaken($0) ?? false })

        // Everything (logs, errors, rebalances) goes through the consumer queue, which the
        // poll loop drains.
        rd_kafka_poll_set_consumer(client.handle)
        let queue = rd_kafka_queue_get_consumer(client.handle)!
        taken.consumer = WeakConsumer(self)
        let weak = WeakConsumer(self)
        let client = self.client
        let loop = PollLoop(
            name: "kafka-consumer",
            queue: queue,
            handle: { event, type in weak.value?.handle(event: event, type: type) },
            shouldExit: { weak.value?.mayStopPolling() ?? true },
            onExit: {
                // The close sequence already left the group (or gave up at its deadline).
                client.destroy(skipConsumerClose: true)
                weak.value?.finishClosing()
            }
        )
        self.loop.withLock { $0 = loop }
    }

    /// Joins the group for these topics. Assignment follows asynchronously.
    public func subscribe(topics: [String]) throws(KafkaError) {
        try client.use("subscribe") { handle throws(KafkaError) in
            let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for t in topics { rd_kafka_topic_partition_list_add(list, t, RDKafkaClient.unassignedPartition) }
            let err = rd_kafka_subscribe(handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "subscribe") }
        }
    }

    // MARK: Commits

    /// Commits these offsets (each the *next* offset to consume) and waits for the
    /// group coordinator's answer. Safe to call from the revoke hook.
    public func commit(_ offsets: [TopicPartitionOffset]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let client = self.client
        try await BlockingCall.run { () throws(KafkaError) in
            try client.use("commit") { handle throws(KafkaError) in
                let list = RDKafkaClient.makeList(offsets)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let err = rd_kafka_commit(handle, list, 0)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "commit") }
                if let partitionError = RDKafkaClient.firstError(in: list, operation: "commit") { throw partitionError }
            }
        }
    }

    /// Sends a commit and returns at once; a failure is logged (the next commit carries
    /// the same or a later offset, so nothing else needs to happen).
    public func scheduleCommit(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try client.use("commit") { handle throws(KafkaError) in
            let list = RDKafkaClient.makeList(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_commit(handle, list, 1)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "commit") }
        }
    }

    /// The group's committed offsets for these partitions, asked of the coordinator.
    /// A partition without a committed offset is absent from the result.
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [TopicPartition: Int64] {
        let client = self.client
        return try await BlockingCall.run { () throws(KafkaError) in
            try client.use("committed") { handle throws(KafkaError) in
                let list = RDKafkaClient.makeList(partitions)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let err = rd_kafka_committed(handle, list, Int32(clamping: timeout.milliseconds))
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "committed") }
                var result: [TopicPartition: Int64] = [:]
                for o in RDKafkaClient.offsets(of: list) where o.offset >= 0 { result[o.topicPartition] = o.offset }
                return result
            }
        }
    }

    /// The end of each partition (the offset the next produced record will get), asked
    /// of the partition leaders. Tools use it to read a topic up to "now".
    public func highWatermarks(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [TopicPartition: Int64] {
        let client = self.client
        return try await BlockingCall.run { () throws(KafkaError) in
            try client.use("watermarks") { handle throws(KafkaError) in
                var result: [TopicPartition: Int64] = [:]
                for p in partitions {
                    var low: Int64 = 0
                    var high: Int64 = 0
                    let err = rd_kafka_query_watermark_offsets(handle, p.topic, p.partition, &low, &high, Int32(clamping: timeout.milliseconds))
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "watermarks of \(p)") }
                    result[p] = high
                }
                return result
            }
        }
    }

    // MARK: Pause and resume

    /// Stops fetching from these partitions. The member stays in its group: the poll
    /// loop keeps serving librdkafka. Messages already buffered are still delivered.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let change = state.withLock { $0.pause(partitions) }
        try apply(change)
    }

    /// Restarts fetching from these partitions, at the position after the last message
    /// delivered, so there is no gap.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let change = state.withLock { $0.resume(partitions) }
        try apply(change)
    }

    /// The partitions currently assigned to this member.
    public var assignment: Set<TopicPartition> { state.withLock { $0.assignment } }

    /// The partitions the application paused.
    public var pausedPartitions: Set<TopicPartition> { state.withLock { $0.pausedByApplication } }

    /// The latest statistics, when ``KafkaClientConfiguration/statisticsInterval`` is set.
    public var statistics: KafkaStatistics? { state.withLock { $0.statistics } }

    /// Fatal and authorization errors seen so far (``KafkaConsumerHealth``).
    public var health: KafkaConsumerHealth { healthState.withLock { $0 } }

    /// How long ago the poll loop last came back from librdkafka; nil once it ended.
    public var sinceLastPoll: Duration? { loop.withLock { $0 }?.sinceLastTurn }

    /// The librdkafka consumer group metadata, for ``KafkaProducer/sendOffsetsToTransaction(_:consumer:timeout:)``.
    /// The caller destroys it with `rd_kafka_consumer_group_metadata_destroy`.
    func groupMetadata() throws(KafkaError) -> OpaquePointer {
        try client.use("group metadata") { handle throws(KafkaError) in
            guard let metadata = rd_kafka_consumer_group_metadata(handle) else {
                throw KafkaError(code: .state, message: "no group metadata", operation: "group metadata")
            }
            return metadata
        }
    }

    deinit {
        // Abandoned without close(): stop the loop, which frees the client. The member
        // does not leave the group cleanly; the coordinator evicts it after its session.
        loop.withLock { $0?.requestStop() }
    }

    // MARK: Close

    /// Leaves the group and frees the client. The revoke hook runs first, so it can
    /// commit. Returns within ``KafkaConsumerConfiguration/closeTimeout`` plus one poll
    /// interval, whatever the broker does. Calling it again waits for the first close.
    public func close() async {
        let deadline = ContinuousClock.now + configuration.closeTimeout
        let started = state.withLock { $0.startClosing(deadline: deadline) }
        let loop = self.loop.withLock { $0 }
        if started {
            do {
                try client.use("close") { handle throws(KafkaError) in
                    // Non-blocking: librdkafka queues the close and reports the revoke on
                    // the consumer queue, which the poll loop keeps serving until
                    // rd_kafka_consumer_closed() says the member left.
                    let queue = rd_kafka_queue_get_consumer(handle)!
                    defer { rd_kafka_queue_destroy(queue) }
                    if let error = rd_kafka_consumer_close_queue(handle, queue) {
                        throw KafkaError(consuming: error, operation: "close")
                    }
                }
            } catch {
                logger.warning("consumer close request failed; tearing down", metadata: ["error": "\(error)"])
            }
            loop?.requestStop()
        }
        await loop?.waitUntilFinished()
    }

    // MARK: The poll loop's side

    fileprivate func mayStopPolling() -> Bool {
        let closed = (try? client.use("closed?") { rd_kafka_consumer_closed($0) != 0 }) ?? true
        return state.withLock { $0.mayStopPolling(consumerClosed: closed, now: .now) }
    }

    fileprivate func finishClosing() {
        state.withLock { $0.finishClosing() }
        continuation.finish()
    }

    fileprivate func messageTaken(_ fetched: KafkaConsumerMessages.Fetched) -> Bool {
        let (deliver, change) = state.withLock {
            $0.messageTaken(fetched.message.topicPartition, generation: fetched.generation)
        }
        try? apply(change)
        return deliver
    }

    /// Runs on the poll loop thread for each event.
    fileprivate func handle(event: OpaquePointer, type: Int32) {
        switch type {
        case RD_KAFKA_EVENT_FETCH:
            while let m = rd_kafka_event_message_next(event) {
                if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    // Consumer errors (e.g. an unknown topic) arrive as messages with err set.
                    let error = KafkaError(m.pointee.err, operation: "consume")
                    logger.warning("consume error", metadata: ["error": "\(error)"])
                    healthState.withLock { $0.record(error) }
                    continue
                }
                healthState.withLock { $0.recordProgress() }
                let message = RDKafkaClient.consumerMessage(m)
                let (generation, change) = state.withLock { $0.messageBuffered(message.topicPartition) }
                continuation.yield(KafkaConsumerMessages.Fetched(message: message, generation: generation))
                try? apply(change)
            }
        case RD_KAFKA_EVENT_REBALANCE:
            rebalance(event: event)
        case RD_KAFKA_EVENT_OFFSET_COMMIT:
            let err = rd_kafka_event_error(event)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("commit failed", metadata: ["error": "\(KafkaError(err, operation: "commit"))"])
            }
        default:
            switch client.handleCommonEvent(event, type: type) {
            case .statistics(let json):
                if let statistics = KafkaStatistics(json: json) { state.withLock { $0.statistics = statistics } }
            case .error(let error):
                healthState.withLock { $0.record(error) }
            case .none:
                break
            }
        }
    }

    /// Applies a rebalance. librdkafka waits for the application's assign/unassign call
    /// before it completes the step, which is what lets the revoke hook commit first.
    private func rebalance(event: OpaquePointer) {
        let handle = client.handle
        let err = rd_kafka_event_error(event)
        let list = rd_kafka_event_topic_partition_list(event)
        let partitions = RDKafkaClient.offsets(of: list).map(\.topicPartition)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"

        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            logger.info("partitions assigned", metadata: ["partitions": "\(partitions)", "cooperative": "\(cooperative)"])
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, list) {
                    logger.error("incremental assign failed", metadata: ["error": "\(KafkaError(consuming: error, operation: "assign"))"])
                }
            } else {
                let e = rd_kafka_assign(handle, list)
                if e != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.error("assign failed", metadata: ["error": "\(KafkaError(e, operation: "assign"))"])
                }
            }
            let change = state.withLock { $0.assigned(partitions) }
            try? apply(change)
            healthState.withLock { $0.recordProgress() }
            // After the assignment, so the hook can pause the new partitions.
            runHook { await self.rebalanceHandler.onAssign(partitions) }
        } else {
            let lost = rd_kafka_assignment_lost(handle) != 0
            logger.info("partitions revoked", metadata: ["partitions": "\(partitions)", "lost": "\(lost)"])
            runHook { await self.rebalanceHandler.onRevoke(partitions, lost) }
            state.withLock { $0.revoked(partitions) }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, list) {
                    logger.error("incremental unassign failed", metadata: ["error": "\(KafkaError(consuming: error, operation: "unassign"))"])
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
        }
    }

    /// Runs an async hook from the poll loop thread and blocks that thread (never a
    /// cooperative one) until it returns or its timeout passes.
    private func runHook(_ hook: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await hook()
            done.signal()
        }
        let timeout = configuration.rebalanceHookTimeout.milliseconds
        if done.wait(timeout: .now() + .milliseconds(Int(timeout))) == .timedOut {
            logger.error("rebalance hook exceeded its timeout; completing the rebalance without it")
        }
    }

    private func apply(_ change: ConsumerStateMachine.FetchChange) throws(KafkaError) {
        guard !change.isEmpty else { return }
        try client.use("pause") { handle throws(KafkaError) in
            for (partitions, pause) in [(change.pause, true), (change.resume, false)] where !partitions.isEmpty {
                let list = RDKafkaClient.makeList(partitions)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let err = pause ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: pause ? "pause" : "resume") }
            }
        }
    }
}

/// A weak reference usable from the poll loop's `@Sendable` closures, so the loop does
/// not keep its consumer alive (an abandoned consumer stops its loop in `deinit`).
private final class WeakConsumer: Sendable {
    weak let value: KafkaConsumer?
    init(_ consumer: KafkaConsumer) { value = consumer }
}

/// Set once at the end of init, read by the message sequence's iterator.
private final class Box: Sendable {
    private let stored = Mutex<WeakConsumer?>(nil)
    var consumer: WeakConsumer? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
