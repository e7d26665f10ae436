/// The step a task's `progress` stands at, and when our polls saw it: the input of the
/// progress bound (``ProgressTrust/stepSize``).
///
/// Read as "the task has done at least `progress` % of its time, and less than the next
/// step": a poll that first showed `progress` at age e1 means the step was reached by e1,
/// so the duration D <= e1 x 100 / progress; the last poll that showed less (at e0) means it
/// was not reached by then, D > e0 x 100 / progress; and the newest poll still showing it
/// (at e2) means the next step was not reached, D > e2 x 100 / (progress + step). Linear
/// progress is the case step = 1; progress in 25 % jumps narrows D to a factor of about
/// (progress + 25) / progress at once, and more as polls see the step change.
public struct ProgressStep: Sendable, Hashable {
    /// 1...99.
    public var progress: Int
    /// Age of the first poll that showed ``progress``.
    public var firstSeenAt: Duration
    /// Age of the newest poll that showed it.
    public var lastSeenAt: Duration
    /// Age of the last poll that showed a lower progress (zero: none did; the create).
    public var lastBelowAt: Duration

    public init(progress: Int, firstSeenAt: Duration, lastSeenAt: Duration, lastBelowAt: Duration) {
        self.progress = progress
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.lastBelowAt = lastBelowAt
    }

    /// The interval (seconds) the step puts the duration in, for steps of `step` %:
    /// (max(e0 x 100 / p, e2 x 100 / (p + step)), e1 x 100 / p].
    public func durationBounds(step: Int) -> ClosedRange<Double> {
        let p = Double(min(max(progress, 1), 99))
        let upper = firstSeenAt.inSeconds * 100 / p
        let next = min(100, p + Double(max(step, 1)))
        let lower = max(lastBelowAt.inSeconds * 100 / p, lastSeenAt.inSeconds * 100 / next)
        return min(lower, upper)...upper
    }
}
