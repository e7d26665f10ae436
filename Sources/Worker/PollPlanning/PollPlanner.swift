import Foundation

/// Places one task's polls: a value snapshot of the learned model for the task's
/// ``DurationKey``, taken when its job starts, so the job machine stays pure.
///
/// The rules, in order:
/// 1. Cold start: while the key has fewer than ``PollPlanSettings/coldStartTasks``
///    completed tasks, today's backoff (``PollBackoff``: 1 s, x1.5, at most 15 s, shortened
///    by progress).
/// 2. Progress, when ``ProgressTrust`` found it predictive for the provider: the poll goes
///    just after the end the linear reading predicts (elapsed x 100 / progress).
/// 3. Otherwise the duration fit, conditioned on what the last poll showed: the task was
///    pending at its age `a`, so the next poll goes at the `t` where
///    P(done by t | pending at a) = (F(t) - F(a)) / (1 - F(a)) reaches
///    ``PollPlanSettings/doneProbability``; the first poll (a = 0) at that quantile of F.
///    Each poll is worth its request by the same odds, and a task that outlives the fit's
///    expectation gets polls spaced by its conditional, longer, remaining time.
/// 4. The detection lag bound: no gap longer than ``PollPlanSettings/maxLag``, nor, after
///    the first poll, than ``PollPlanSettings/maxLagFraction`` of the task's age; no gap
///    shorter than ``PollPlanSettings/minimumGap``. A poll placed by trusted progress is
///    held to the absolute bound only: the share bound guards against a fit that is wrong
///    for this task, while trusted progress was measured to predict this provider's tasks
///    within ``PollPlanSettings/progressTolerance``, and cutting its gap would only add a
///    poll to every long task.
/// 5. A `Retry-After` on the poll reply postpones the poll to it, whatever the rest says.
public struct PollPlanner: Sendable, Hashable {
    public var key: DurationKey
    public var settings: PollPlanSettings
    /// Today's schedule, used during the cold start.
    public var coldStart: PollBackoff
    /// The fit for ``key`` (or its size-less fallback); nil: nothing learned.
    public var durations: LogNormalFit?
    /// Whether the provider's `progress` places polls.
    public var progressIsPredictive: Bool

    public init(key: DurationKey, settings: PollPlanSettings, coldStart: PollBackoff, durations: LogNormalFit?, progressIsPredictive: Bool) {
        self.key = key
        self.settings = settings
        self.coldStart = coldStart
        self.durations = durations
        self.progressIsPredictive = progressIsPredictive
    }

    /// Whether the learned model places polls (false: the cold-start backoff does).
    public var isWarm: Bool {
        guard settings.enabled, let durations else { return false }
        return durations.count >= settings.coldStartTasks
    }

    /// The next poll of a task `elapsed` after its create, `history` being what its polls
    /// showed (empty for the first poll, right after the create).
    /// - Parameters:
    ///   - progress: the last reply's `progress`, if any.
    ///   - retryAfter: a `Retry-After` the last poll reply carried.
    public func nextPoll(elapsed: Duration, history: TaskPollHistory, progress: Int?, retryAfter: Duration? = nil) -> PollDecision {
        var decision = planned(elapsed: elapsed, history: history, progress: progress)
        if let retryAfter, retryAfter > decision.delay {
            decision = PollDecision(delay: retryAfter, basis: .retryAfter)
        }
        return decision
    }

    private func planned(elapsed: Duration, history: TaskPollHistory, progress: Int?) -> PollDecision {
        guard isWarm, let durations else {
            let delay = history.pendingPolls == 0
                ? coldStart.first
                : coldStart.delay(afterPolls: history.pendingPolls, progress: progress, elapsed: elapsed)
            return PollDecision(delay: delay, basis: .coldStart)
        }
        let age = max(0, elapsed.inSeconds)
        var target: Double
        var basis = PollDecision.Basis.durationModel
        if progressIsPredictive, let progress, progress > 0, progress < 100, age > 0 {
            target = ProgressSample(elapsed: elapsed, progress: progress).linearCompletion.inSeconds * (1 + settings.progressMargin)
            basis = .progress
        } else {
            let doneAlready = durations.probabilityDone(by: elapsed)
            let goal = doneAlready + settings.doneProbability * (1 - doneAlready)
            target = durations.elapsed(atProbability: min(goal, 1 - 1e-9)).inSeconds
        }
        var gap = target - age
        var longest = settings.maxLag.inSeconds
        if age > 0, basis != .progress { longest = min(longest, max(settings.minimumGap.inSeconds, settings.maxLagFraction * age)) }
        if gap > longest {
            gap = longest
            basis = .lagBound
        }
        gap = max(gap, settings.minimumGap.inSeconds)
        return PollDecision(delay: .fromSeconds(gap), basis: basis)
    }
}
