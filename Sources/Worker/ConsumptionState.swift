import Kafka

/// What the consumer loop knows about its partitions, kept in one lock. Methods decide
/// and return what to tell Kafka; the loop does it outside the lock.
struct ConsumptionState {
    /// A job started from a message, with the task that runs it.
    struct Running {
        var task: Task<Void, Never>
        /// When the job started, for the stall check (a job that never reaches a
        /// checkpoint holds its partition's commits back).
        var startedAt: ContinuousClock.Instant
    }

    var tracker = OffsetTracker()
    var running: [TopicPartition: [Int64: Running]] = [:]
    var assignment: Set<TopicPartition> = []
    /// Fetching is paused because `maxInFlight` jobs run.
    var pausedForCapacity = false
    /// Fetching is paused because the provider is unusable (401 or open circuit).
    var pausedForProvider = false
    /// Shutdown began: no new jobs; fetching stays paused.
    var draining = false

    let maxInFlight: Int
    let resumeBelow: Int

    init(maxInFlight: Int, resumeBelow: Int) {
        self.maxInFlight = max(1, maxInFlight)
        self.resumeBelow = min(max(0, resumeBelow), self.maxInFlight - 1)
    }

    var isPaused: Bool { pausedForCapacity || pausedForProvider || draining }
    var inFlight: Int { tracker.inFlight }

    /// A message arrived. Returns false when it must not start (shutdown or a partition
    /// no longer owned), and the partitions to pause when the cap is reached.
    mutating func accept(_ message: KafkaConsumerMessage) -> (start: Bool, pause: [TopicPartition]) {
        guard !draining, assignment.contains(message.topicPartition) else { return (false, []) }
        tracker.started(message.topicPartition, offset: message.offset)
        guard !pausedForCapacity, tracker.inFlight >= maxInFlight else { return (true, []) }
        pausedForCapacity = true
        return (true, Array(assignment))
    }

    mutating func register(_ message: KafkaConsumerMessage, task: Task<Void, Never>, at now: ContinuousClock.Instant) {
        running[message.topicPartition, default: [:]][message.offset] = Running(task: task, startedAt: now)
    }

    /// When the oldest running job started, if any runs.
    var oldestStart: ContinuousClock.Instant? {
        running.values.lazy.flatMap { $0.values.map(\.startedAt) }.min()
    }

    /// Running jobs that started before `instant`.
    func runningSince(before instant: ContinuousClock.Instant) -> Int {
        running.values.reduce(0) { $0 + $1.values.filter { $0.startedAt < instant }.count }
    }

    /// A job ended. `checkpointed` is false when it was cancelled. Returns the partitions
    /// to resume when the in-flight count fell below the low-water mark.
    mutating func ended(_ message: KafkaConsumerMessage, checkpointed: Bool) -> [TopicPartition] {
        let tp = message.topicPartition
        running[tp]?.removeValue(forKey: message.offset)
        // A revoked partition was already removed from the tracker; nothing to mark.
        if checkpointed, assignment.contains(tp) { tracker.finished(tp, offset: message.offset) }
        return releaseCapacityPause()
    }

    /// Partitions were assigned: returns them when they must start paused.
    mutating func assigned(_ partitions: [TopicPartition]) -> [TopicPartition] {
        assignment.formUnion(partitions)
        _ = releaseCapacityPause()
        return isPaused ? partitions : []
    }

    /// Partitions are being revoked: returns the tasks to cancel. Their offsets stay
    /// tracked until ``forget(_:)`` so the revoke hook can commit what finished.
    mutating func revoking(_ partitions: [TopicPartition]) -> [Task<Void, Never>] {
        assignment.subtract(partitions)
        return partitions.flatMap { running[$0]?.values.map(\.task) ?? [] }
    }

    /// Drops revoked partitions. Their cancelled jobs never reported back, so the cap's
    /// pause is re-evaluated here: returns the partitions to resume.
    mutating func forget(_ partitions: [TopicPartition]) -> [TopicPartition] {
        tracker.remove(partitions)
        for p in partitions { running.removeValue(forKey: p) }
        return releaseCapacityPause()
    }

    private mutating func releaseCapacityPause() -> [TopicPartition] {
        guard pausedForCapacity, tracker.inFlight <= resumeBelow else { return [] }
        pausedForCapacity = false
        return isPaused ? [] : Array(assignment)
    }

    /// Whether the message loop may take another message now.
    var hasCapacity: Bool { draining || tracker.inFlight < maxInFlight }

    /// The provider became unusable or usable again. Returns what to pause or resume.
    mutating func providerUsable(_ usable: Bool) -> (pause: [TopicPartition], resume: [TopicPartition]) {
        guard pausedForProvider == usable else { return ([], []) }
        pausedForProvider = !usable
        if !usable { return (Array(assignment), []) }
        return isPaused ? ([], []) : ([], Array(assignment))
    }

    /// Shutdown: returns the partitions to pause.
    mutating func startDraining() -> [TopicPartition] {
        draining = true
        return Array(assignment)
    }

    var allTasks: [Task<Void, Never>] { running.values.flatMap { $0.values.map(\.task) } }
}
