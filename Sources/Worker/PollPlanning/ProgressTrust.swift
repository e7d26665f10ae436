import Foundation

/// Whether a provider's `progress` predicts when its tasks end, learned from completed
/// tasks.
///
/// For each completed task, the last usable progress (1...99) gives the duration the task
/// would have if progress grew linearly from its create (``ProgressSample/linearCompletion``);
/// its error is the log distance from that prediction to the interval the duration is
/// known to lie in (zero inside it). A task found done at its first poll showed no
/// progress at all and says nothing either way: it is not counted. Progress that grows linearly predicts within a few
/// percent; progress that moves in steps is off by up to a step's share (25 % steps: up to
/// a factor 2); progress that stays 0 until done gives no prediction at all, which counts
/// as a miss. Progress is trusted once ``PollPlanSettings/coldStartTasks`` tasks were seen,
/// most of them had a usable progress, and the weighted mean error is within the tolerance.
public struct ProgressTrust: Sendable, Hashable {
    public private(set) var count = 0
    /// Weighted share of completed tasks that reported a usable progress.
    public private(set) var usableShare = 0.0
    /// Weighted mean of |log(predicted / interval)| over tasks with a usable progress.
    public private(set) var meanError = 0.0
    private var usableCount = 0
    public let weight: Double

    public init(weight: Double = 0.05) {
        self.weight = min(max(weight, 0.001), 1)
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
    }

    /// Whether the planner may place polls by the linear reading of `progress`.
    public func isPredictive(_ settings: PollPlanSettings) -> Bool {
        count >= settings.coldStartTasks && usableCount >= settings.coldStartTasks / 2
            && usableShare >= settings.progressMinimumUsableShare && meanError <= settings.progressTolerance
    }
}
