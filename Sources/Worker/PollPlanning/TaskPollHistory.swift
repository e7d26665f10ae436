/// What the polls of one task have shown so far: kept by the job machine (a value, reset
/// for each new task) for the planner's next decision and for the timing fed back when
/// the task is done.
public struct TaskPollHistory: Sendable, Hashable {
    /// Polls that found the task pending.
    public private(set) var pendingPolls = 0
    /// Time since the create of the last poll that found the task pending.
    public private(set) var lastPendingAt: Duration?
    /// The last pending poll's `progress`, when it was usable (1...99).
    public private(set) var lastProgress: ProgressSample?

    public init() {}

    /// A poll at `elapsed` found the task pending with `progress`.
    public mutating func recordPending(at elapsed: Duration, progress: Int?) {
        pendingPolls += 1
        lastPendingAt = elapsed
        if let progress, progress > 0, progress < 100 {
            lastProgress = ProgressSample(elapsed: elapsed, progress: progress)
        }
    }

    /// The timing of the task found done at `elapsed`.
    public func completion(key: DurationKey, doneAt elapsed: Duration, providerDuration: Duration?) -> CompletedTaskTiming {
        CompletedTaskTiming(
            key: key, notDoneAt: lastPendingAt ?? .zero, doneAt: elapsed, providerDuration: providerDuration, lastProgress: lastProgress)
    }
}
