import Foundation

/// Whether a provider's `progress` predicts when its tasks end, learned from completed
/// tasks, in two strengths.
///
/// **Linear prediction** (``isPredictive(_:)``). For each completed task, the last usable
/// progress (1...99) gives the duration the task would have if progress grew linearly
/// from its create (``ProgressSample/linearCompletion``); its error is the log distance
/// from that prediction to the interval the duration is known to lie in (zero inside it).
/// Progress that grows linearly predicts within a few percent; progress that moves in
/// steps is off by up to a step's share (25 % steps: up to a factor 2); progress that
/// stays 0 until done gives no prediction at all, which counts as a miss. Trusted once
/// ``PollPlanSettings/coldStartTasks`` tasks were seen, most of them had a usable
/// progress, and the weighted mean error is within the tolerance.
///
/// **A bound** (``stepSize(_:)``). Progress that moves in steps still bounds the duration
/// (``ProgressStep``: at least the step's share of the time is done, less than the next
/// step's). The step is the greatest common divisor of the usable progress values seen
/// (25 for 25/50/75; 1 for linear progress): a wrong guess can only be too large, which
/// loosens the bound. For each completed task whose polls saw a step, the bound is
/// checked against the interval the duration is known to lie in (within the tolerance);
/// it is trusted when it held for ``PollPlanSettings/progressBoundHitRate`` of them (the
/// weighted share), besides the same count and usable-share rules. Progress that
/// stays 0 until done shows no step and is never trusted; progress unrelated to the time
/// breaks the bound often and is not either.
///
/// A task found done at its first poll showed no progress at all and says nothing either
/// way: it is not counted.
public struct ProgressTrust: Sendable, Hashable {
    public private(set) var count = 0
    /// Weighted share of completed tasks that reported a usable progress.
    public private(set) var usableShare = 0.0
    /// Weighted mean of |log(predicted / interval)| over tasks with a usable progress.
    public private(set) var meanError = 0.0
    /// Greatest common divisor of the usable progress values seen (0: none seen).
    public private(set) var step = 0
    /// Weighted share of tasks with a step whose step bound held.
    public private(set) var boundHitRate = 0.0
    private var usableCount = 0
    private var stepCount = 0
    public let weight: Double
    /// How far outside the known interval a prediction or bound may be (log): see
    /// ``PollPlanSettings/progressTolerance``.
    public let tolerance: Double

    public init(weight: Double = 0.05, tolerance: Double = 0.05) {
        self.weight = min(max(weight, 0.001), 1)
        self.tolerance = max(0, tolerance)
    }

    /// What the trust keeps, to store across restarts.
    public struct Statistics: Sendable, Hashable, Codable {
        public var count: Int
        public var usableShare: Double
        public var meanError: Double
        public var step: Int
        public var boundHitRate: Double
        public var usableCount: Int
        public var stepCount: Int
    }

    public var statistics: Statistics {
        Statistics(
            count: count, usableShare: usableShare, meanError: meanError, step: step, boundHitRate: boundHitRate,
            usableCount: usableCount, stepCount: stepCount)
    }

    /// Trust restored from stored statistics; nil when they cannot be a trust's (shares
    /// outside 0...1, a negative or non-finite error, counts out of order, a step outside
    /// 0...99).
    public init?(_ statistics: Statistics, weight: Double, tolerance: Double) {
        let s = statistics
        let limit = LogNormalFit.maximumCount
        guard s.count >= 0, s.count <= limit, s.usableCount >= 0, s.usableCount <= s.count, s.stepCount >= 0,
            s.stepCount <= s.usableCount, (0...99).contains(s.step), (0...1).contains(s.usableShare),
            (0...1).contains(s.boundHitRate), s.meanError.isFinite, s.meanError >= 0
        else { return nil }
        self.init(weight: weight, tolerance: tolerance)
        count = s.count
        usableShare = s.usableShare
        meanError = s.meanError
        step = s.step
        boundHitRate = s.boundHitRate
        usableCount = s.usableCount
        stepCount = s.stepCount
    }

    public mutating func add(_ timing: CompletedTaskTiming) {
        guard timing.sawPending else { return }
        count += 1
        let alpha = max(weight, 1 / Double(count))
        guard let sample = timing.lastProgress else {
            usableShare += alpha * (0 - usableShare)
            return
        }
        usableShare += alpha * (1 - usableShare)
        usableCount += 1
        let bounds = timing.bounds
        let predicted = max(sample.linearCompletion.inSeconds, 0.001)
        var error = 0.0
        if predicted > bounds.upperBound { error = log(predicted / max(bounds.upperBound, 0.001)) }
        if predicted < bounds.lowerBound { error = log(bounds.lowerBound / predicted) }
        let usableAlpha = max(weight, 1 / Double(usableCount))
        meanError += usableAlpha * (error - meanError)

        guard let seen = timing.progressStep else { return }
        step = Self.gcd(step, seen.progress)
        stepCount += 1
        let bound = seen.durationBounds(step: step)
        let slack = exp(tolerance)
        let held = bounds.upperBound * slack >= bound.lowerBound && bounds.lowerBound <= bound.upperBound * slack
        let stepAlpha = max(weight, 1 / Double(stepCount))
        boundHitRate += stepAlpha * ((held ? 1 : 0) - boundHitRate)
    }

    /// Whether the planner may place polls by the linear reading of `progress`.
    public func isPredictive(_ settings: PollPlanSettings) -> Bool {
        count >= settings.coldStartTasks && usableCount >= settings.coldStartTasks / 2
            && usableShare >= settings.progressMinimumUsableShare && meanError <= settings.progressTolerance
    }

    /// The step size when the step bound is trusted (``ProgressStep/durationBounds(step:)``);
    /// nil: progress bounds nothing.
    public func stepSize(_ settings: PollPlanSettings) -> Int? {
        guard count >= settings.coldStartTasks, stepCount >= settings.coldStartTasks / 2, step > 0,
            usableShare >= settings.progressMinimumUsableShare, boundHitRate >= settings.progressBoundHitRate
        else { return nil }
        return step
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (abs(a), abs(b))
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }
}
