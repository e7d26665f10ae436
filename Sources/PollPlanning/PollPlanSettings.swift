/// The poll planner's settings (`OCR_POLL_PLAN_*`, see the README).
public struct PollPlanSettings: Sendable, Hashable {
    /// false: always today's backoff (``PollBackoff``), nothing learned.
    public var enabled: Bool
    /// The provider, as the duration model keys it (the API host).
    public var provider: String
    /// Completed tasks a key needs before its fit places polls; until then the cold-start
    /// backoff does. Also the tasks needed before `progress` can be trusted.
    public var coldStartTasks: Int
    /// Each poll goes where the probability that the task ends between the previous poll
    /// and this one, given it was pending at the previous poll, reaches this. Higher: fewer
    /// polls, later detection. The default is set by `scripts/bench provider`: with
    /// log-normal durations (median 8 s, sigma 0.6) and linear progress it gives about
    /// 2.5 requests per task at a median detection lag below 10 % of the duration.
    public var doneProbability: Double
    /// Detection lag bound as a share of the task's age: no gap between polls is longer
    /// than this share of the time since the create (a task pending at age a ends after
    /// a, so it is seen within this share of its duration).
    public var maxLagFraction: Double
    /// Detection lag bound in time: no gap between polls is longer.
    public var maxLag: Duration
    /// No gap between polls is shorter.
    public var minimumGap: Duration
    /// The newest task's weight in the duration fit and the progress trust.
    public var modelWeight: Double
    /// Mean log error within which `progress` counts as predictive (0.05: about 5 %).
    public var progressTolerance: Double
    /// Share of completed tasks that must have reported a usable progress.
    public var progressMinimumUsableShare: Double
    /// A poll placed by progress goes this share after the predicted end; a progress
    /// step's upper bound is widened by it too.
    public var progressMargin: Double
    /// ``doneProbability`` for a poll placed inside a progress step's interval
    /// (``PollDecision/Basis/progressBound``); nil: the same.
    public var progressBoundDoneProbability: Double?
    /// Weighted share of completed tasks whose progress step bound held, needed before
    /// step-wise progress bounds the remaining time (``ProgressTrust/stepSize(_:)``).
    public var progressBoundHitRate: Double
    /// Nats per task by which the two-component mixture must out-predict the single
    /// log-normal before it places polls (``DurationFit``).
    public var mixtureAdvantage: Double

    public init(
        enabled: Bool = true, provider: String = "default", coldStartTasks: Int = 20, doneProbability: Double = 0.58,
        maxLagFraction: Double = 0.5, maxLag: Duration = .seconds(15), minimumGap: Duration = .milliseconds(250),
        modelWeight: Double = 0.05, progressTolerance: Double = 0.05, progressMinimumUsableShare: Double = 0.8,
        progressMargin: Double = 0.01, progressBoundHitRate: Double = 0.9, mixtureAdvantage: Double = 0.1,
        progressBoundDoneProbability: Double? = nil
    ) {
        self.enabled = enabled
        self.provider = provider
        self.coldStartTasks = max(1, coldStartTasks)
        self.doneProbability = min(max(doneProbability, 0.01), 0.99)
        self.maxLagFraction = max(0.01, maxLagFraction)
        self.maxLag = max(maxLag, minimumGap)
        self.minimumGap = max(.milliseconds(10), minimumGap)
        self.modelWeight = modelWeight
        self.progressTolerance = progressTolerance
        self.progressMinimumUsableShare = progressMinimumUsableShare
        self.progressMargin = max(0, progressMargin)
        self.progressBoundHitRate = min(max(progressBoundHitRate, 0), 1)
        self.mixtureAdvantage = mixtureAdvantage
        self.progressBoundDoneProbability = progressBoundDoneProbability.map { min(max($0, 0.01), 0.99) }
    }
}
