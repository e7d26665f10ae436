/// The consumer's mutable state, kept in a lock by ``KafkaConsumer``.
///
/// Methods only decide; they return what librdkafka must be told, and the caller does it
/// after leaving the lock (a C call under our lock could deadlock against librdkafka's
/// own threads).
struct ConsumerStateMachine {
    enum Lifecycle: Equatable {
        case running
        /// close() began; the poll loop serves the queue until librdkafka finished
        /// leaving the group or the deadline passed.
        case closing(deadline: ContinuousClock.Instant)
        case closed
    }

    /// Which partitions librdkafka must pause or resume.
    struct FetchChange: Equatable {
        var pause: [TopicPartition] = []
        var resume: [TopicPartition] = []
        var isEmpty: Bool { pause.isEmpty && resume.isEmpty }
    }

    private(set) var lifecycle: Lifecycle = .running
    private(set) var assignment: Set<TopicPartition> = []
    /// Paused by the application.
    private(set) var pausedByApplication: Set<TopicPartition> = []
    /// True while the wrapper's own buffer is full and fetching is paused for it.
    private(set) var bufferFull = false
    private(set) var buffered = 0
    var statistics: KafkaStatistics?

    let highWater: Int
    let lowWater: Int

    init(bufferedMessagesLimit: Int) {
        highWater = max(1, bufferedMessagesLimit)
        lowWater = highWater / 2
    }

    var acceptsCalls: Bool {
        if case .closed = lifecycle { return false }
        return true
    }

    // MARK: Fetch pausing

    /// The application pauses partitions. Returns what to pause.
    mutating func pause(_ partitions: [TopicPartition]) -> FetchChange {
        let owned = partitions.filter { assignment.contains($0) }
        pausedByApplication.formUnion(owned)
        return FetchChange(pause: owned)
    }

    /// The application resumes partitions; they stay paused while the buffer is full.
    mutating func resume(_ partitions: [TopicPartition]) -> FetchChange {
        let owned = partitions.filter { pausedByApplication.contains($0) }
        pausedByApplication.subtract(owned)
        return bufferFull ? FetchChange() : FetchChange(resume: owned)
    }

    /// A message went into the buffer. At the high-water mark, pause everything.
    mutating func messageBuffered() -> FetchChange {
        buffered += 1
        guard !bufferFull, buffered >= highWater else { return FetchChange() }
        bufferFull = true
        return FetchChange(pause: Array(assignment.subtracting(pausedByApplication)))
    }

    /// The application took a message. At the low-water mark, resume what it did not pause.
    mutating func messageTaken() -> FetchChange {
        buffered -= 1
        guard bufferFull, buffered <= lowWater else { return FetchChange() }
        bufferFull = false
        return FetchChange(resume: Array(assignment.subtracting(pausedByApplication)))
    }

    // MARK: Rebalance

    /// Partitions were assigned; new ones start paused if the buffer is full.
    mutating func assigned(_ partitions: [TopicPartition]) -> FetchChange {
        assignment.formUnion(partitions)
        return bufferFull ? FetchChange(pause: partitions) : FetchChange()
    }

    /// Partitions were revoked; their pause state is forgotten (librdkafka forgets it too).
    mutating func revoked(_ partitions: [TopicPartition]) {
        assignment.subtract(partitions)
        pausedByApplication.subtract(partitions)
    }

    // MARK: Lifecycle

    /// close() was called. Returns false when a close is already under way or done.
    mutating func startClosing(deadline: ContinuousClock.Instant) -> Bool {
        guard case .running = lifecycle else { return false }
        lifecycle = .closing(deadline: deadline)
        return true
    }

    /// Whether the poll loop may stop: librdkafka left the group, or time is up.
    func mayStopPolling(consumerClosed: Bool, now: ContinuousClock.Instant) -> Bool {
        switch lifecycle {
        case .running: return false
        case .closing(let deadline): return consumerClosed || now >= deadline
        case .closed: return true
        }
    }

    mutating func finishClosing() {
        lifecycle = .closed
        assignment = []
        pausedByApplication = []
    }
}
