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
/// 3. Otherwise the duration distribution (the log-normal fit, or the two-component
///    mixture where ``DurationFit`` found it predicts clearly better), conditioned on what
///    the polls showed: the task was pending at its age `a`, so the duration lies in
///    (a, ∞); with step-wise progress trusted as a bound (``ProgressTrust/stepSize(_:)``),
///    in the narrower interval its step leaves (``ProgressStep/durationBounds(step:)``,
///    the upper end widened by ``PollPlanSettings/progressMargin``). The next poll goes at
///    the `t` where P(done by t | D in (low, high]) = (F(t) - F(low)) / (F(high) - F(low))
///    reaches ``PollPlanSettings/doneProbability``; the first poll (a = 0) at that quantile
///    of F. Each poll is worth its request by the same odds, and a task that outlives the
///    fit's expectation gets polls spaced by its conditional, longer, remaining time. A
///    step bound the task has already outlived (pending past its upper end) is wrong for
///    this task and is dropped.
/// 4. The detection lag bound: no gap longer than ``PollPlanSettings/maxLag``, nor, after
///    the first poll, than ``PollPlanSettings/maxLagFraction`` of the task's age; no gap
///    shorter than ``PollPlanSettings/minimumGap``. A poll placed by trusted progress (its
///    linear reading or its step bound) is held to the absolute bound only: the share
///    bound guards against a fit that is wrong for this task, while trusted progress was
///    measured on this provider's tasks, and cutting its gap would only add a poll to
///    every long task.
/// 5. A `Retry-After` on the poll reply postpones the poll to it, whatever the rest says
///    (the client caps it: ``OCRClient/QueriedTask/maximumRetryAfter``).
public struct PollPlanner: Sendable, Hashable {
    public var key: DurationKey
    public var settings: PollPlanSettings
    /// Today's schedule, used during the cold start.
    public var coldStart: PollBackoff
    /// The fit for ``key`` (or its size-less fallback); nil: nothing learned.
    public var durations: LogNormalFit?
    /// The key's two-component mixture, when it places polls instead of ``durations``.
    public var mixture: LogNormalMixtureFit?
    /// Whether the provider's `progress` places polls.
    public var progressIsPredictive: Bool
    /// The provider's progress step when step-wise progress bounds the duration; nil: it
    /// does not.
    public var progressStepSize: Int?

    public init(
        key: DurationKey, settings: PollPlanSettings, coldStart: PollBackoff, durations: LogNormalFit?, progressIsPredictive: Bool,
        mixture: LogNormalMixtureFit? = nil, progressStepSize: Int? = nil
    ) {
        self.key = key
        self.settings = settings
        self.coldStart = coldStart
        self.durations = durations
        self.mixture = mixture
        self.progressIsPredictive = progressIsPredictive
        self.progressStepSize = progressStepSize
    }

    /// Whether the learned model places polls (false: the cold-start backoff does).
    public var isWarm: Bool {
        guard settings.enabled, let durations else { return false }
        return durations.count >= settings.coldStartTasks
    }

    /// The distribution polls are placed by: the mixture when it was preferred, else the
    /// log-normal fit.
    public var distribution: DurationDistribution? {
        if let mixture, mixture.isReady { return mixture.distribution }
        return durations?.distribution
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
        guard isWarm, let distribution else {
            let delay =
                history.pendingPolls == 0
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
        } else if let bound = stepBound(age: age, history: history, progress: progress) {
            let p = settings.progressBoundDoneProbability ?? settings.doneProbability
            target = distribution.conditionalQuantile(p, after: bound.lowerBound, notAfter: bound.upperBound)
            basis = .progressBound
        } else {
            target = distribution.conditionalQuantile(settings.doneProbability, after: age)
        }
        var gap = target - age
        var longest = settings.maxLag.inSeconds
        if age > 0, basis != .progress, basis != .progressBound {
            longest = min(longest, max(settings.minimumGap.inSeconds, settings.maxLagFraction * age))
        }
        if gap > longest {
            gap = longest
            basis = .lagBound
        }
        gap = max(gap, settings.minimumGap.inSeconds)
        return PollDecision(delay: .fromSeconds(gap), basis: basis)
    }

    /// The interval the trusted progress step puts the duration in, given the task is
    /// pending at `age`; nil when progress bounds nothing here (not trusted, no step, the
    /// reply's progress is not the step's, or the task outlived the bound).
    private func stepBound(age: Double, history: TaskPollHistory, progress: Int?) -> ClosedRange<Double>? {
        guard let stepSize = progressStepSize, let step = history.step, step.progress == progress, age > 0 else { return nil }
        let bounds = step.durationBounds(step: stepSize)
        let upper = bounds.upperBound * (1 + settings.progressMargin) + 0.05
        let lower = max(bounds.lowerBound, age)
        guard upper > lower else { return nil }
        return lower...upper
    }
}
