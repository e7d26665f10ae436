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
    /// The step the task's usable progress stands at (``ProgressStep``).
    public private(set) var step: ProgressStep?
    /// The last pending poll's `progress` as sent (nil: none), to tell when a step began.
    private var lastShownProgress: Int?

    public init() {}

    /// A poll at `elapsed` found the task pending with `progress`.
    ///
    /// A usable progress higher than the last one shown starts a new step, seen first now
    /// and not reached at the previous poll (when that poll showed a number); the same
    /// progress extends the step; a lower one (progress going back) starts over, with
    /// nothing known about when it was reached.
    public mutating func recordPending(at elapsed: Duration, progress: Int?) {
        pendingPolls += 1
        let previousAt = lastPendingAt
        lastPendingAt = elapsed
        defer { lastShownProgress = progress }
        guard let progress, progress > 0, progress < 100 else { return }
        lastProgress = ProgressSample(elapsed: elapsed, progress: progress)
        if var current = step, current.progress == progress {
            current.lastSeenAt = elapsed
            step = current
            return
        }
        var below = Duration.zero
        if let shown = lastShownProgress, shown < progress, let previousAt, (step?.progress ?? 0) < progress {
            below = previousAt
        }
        step = ProgressStep(progress: progress, firstSeenAt: elapsed, lastSeenAt: elapsed, lastBelowAt: below)
    }

    /// The timing of the task found done at `elapsed`.
    public func completion(key: DurationKey, doneAt elapsed: Duration, providerDuration: Duration?) -> CompletedTaskTiming {
        CompletedTaskTiming(
            key: key, notDoneAt: lastPendingAt ?? .zero, doneAt: elapsed, providerDuration: providerDuration, lastProgress: lastProgress,
            progressStep: step, polls: pendingPolls + 1)
    }
}
