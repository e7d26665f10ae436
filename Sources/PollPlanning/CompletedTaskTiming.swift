/// What one successful task says about durations: fed back to ``DurationModel``.
///
/// A poll only tells that the task was done by then, so the duration is known as an
/// interval: after the last poll that found it pending (``notDoneAt``) and by the poll
/// that found it done (``doneAt``). The provider's `completed_at - created_at` (whole
/// seconds, so within one second either way) narrows the interval when it fits in it.
public struct CompletedTaskTiming: Sendable, Hashable {
    public var key: DurationKey
    /// Time since the create of the last poll that found the task pending (zero: none).
    public var notDoneAt: Duration
    /// Time since the create of the poll that found the task done.
    public var doneAt: Duration
    /// The provider's own `completed_at - created_at`, when it sent both.
    public var providerDuration: Duration?
    /// The last usable `progress` seen while the task was pending.
    public var lastProgress: ProgressSample?
    /// The step that progress stood at, and when the polls saw it.
    public var progressStep: ProgressStep?
    /// Polls of the task, the one that found it done included (zero: not counted).
    public var polls: Int

    public init(
        key: DurationKey, notDoneAt: Duration, doneAt: Duration, providerDuration: Duration?, lastProgress: ProgressSample?,
        progressStep: ProgressStep? = nil, polls: Int = 0
    ) {
        self.key = key
        self.notDoneAt = notDoneAt
        self.doneAt = doneAt
        self.providerDuration = providerDuration
        self.lastProgress = lastProgress
        self.progressStep = progressStep
        self.polls = polls
    }

    /// Whether any poll found the task pending (``notDoneAt`` is zero exactly when none did).
    public var sawPending: Bool { notDoneAt > .zero }

    /// The interval the duration lies in (seconds): our polls', narrowed by the
    /// provider's timestamps when they agree with our polls.
    public var bounds: ClosedRange<Double> {
        let lower = max(0, notDoneAt.inSeconds)
        let upper = max(lower, doneAt.inSeconds)
        guard let provider = providerDuration?.inSeconds else { return lower...upper }
        let narrowedLower = max(lower, provider - 1)
        let narrowedUpper = min(upper, provider + 1)
        // Timestamps outside our own interval are clock trouble: keep ours.
        guard narrowedLower <= narrowedUpper else { return lower...upper }
        return narrowedLower...narrowedUpper
    }

    /// The duration the fit learns: the geometric middle of ``bounds`` (a lower bound of
    /// zero counts as a tenth of the upper one).
    public var estimate: Duration {
        let range = bounds
        let upper = max(range.upperBound, 0.001)
        let lower = max(range.lowerBound, upper / 10)
        return .fromSeconds((lower * upper).squareRoot())
    }
}
