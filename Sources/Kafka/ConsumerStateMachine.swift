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
    /// Bumped for a partition at each revocation. A buffered message carries the
    /// generation it was fetched in; one from an older generation was fetched before a
    /// revoke and is dropped, because the partition's next owner (maybe this member
    /// again, from the committed offset) reads it anew.
    private(set) var generations: [TopicPartition: UInt64] = [:]
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

    /// A message of `partition` went into the buffer: returns the generation to tag it
    /// with, and at the high-water mark what to pause (everything).
    mutating func messageBuffered(_ partition: TopicPartition) -> (generation: UInt64, change: FetchChange) {
        buffered += 1
        let generation = generations[partition, default: 0]
        guard !bufferFull, buffered >= highWater else { return (generation, FetchChange()) }
        bufferFull = true
        return (generation, FetchChange(pause: Array(assignment.subtracting(pausedByApplication))))
    }

    /// A message left the buffer. `deliver` is false when it was fetched before its
    /// partition was revoked. At the low-water mark, resume what the application did
    /// not pause.
    mutating func messageTaken(_ partition: TopicPartition, generation: UInt64) -> (deliver: Bool, change: FetchChange) {
        buffered -= 1
        let deliver = assignment.contains(partition) && generations[partition, default: 0] == generation
        guard bufferFull, buffered <= lowWater else { return (deliver, FetchChange()) }
        bufferFull = false
        return (deliver, FetchChange(resume: Array(assignment.subtracting(pausedByApplication))))
    }

    // MARK: Rebalance

    /// Partitions were assigned: they start paused if the buffer is full, else they are
    /// resumed explicitly. (A partition paused before its revocation must not stay
    /// paused inside librdkafka when it comes back: we forgot that pause at the revoke.)
    mutating func assigned(_ partitions: [TopicPartition]) -> FetchChange {
        assignment.formUnion(partitions)
        return bufferFull ? FetchChange(pause: partitions) : FetchChange(resume: partitions)
    }

    /// Partitions were revoked; their pause state is forgotten (librdkafka forgets it too).
    mutating func revoked(_ partitions: [TopicPartition]) {
        assignment.subtract(partitions)
        pausedByApplication.subtract(partitions)
        for p in partitions { generations[p, default: 0] += 1 }
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
