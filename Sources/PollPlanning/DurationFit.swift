import Foundation

/// What is learned of one key's durations: a ``LogNormalFit`` and a two-component
/// ``LogNormalMixtureFit``, fed the same tasks, and which of the two predicts better.
///
/// The choice is prequential: before a task's duration is added, each fit's density of it
/// (its log) is taken, and ``mixtureAdvantage`` is the exponentially weighted mean of the
/// mixture's minus the single fit's (nats per task). The mixture places polls only when
/// it is ready and its advantage reaches ``PollPlanSettings/mixtureAdvantage``: on
/// log-normal durations the two fits predict alike (the mixture's components overlap, or
/// its second one is tiny) and the single fit stays; on durations of two kinds the single
/// fit is a wide hump between them and the mixture wins by far (about 0.5 nats per task
/// for the bench's 65 % ~5 s / 35 % ~25 s).
public struct DurationFit: Sendable, Hashable {
    public private(set) var single: LogNormalFit
    public private(set) var mixture: LogNormalMixtureFit
    /// Weighted mean of log p_mixture(x) - log p_single(x) over tasks seen once both
    /// could predict (zero before).
    public private(set) var mixtureAdvantage = 0.0
    /// Tasks that entered ``mixtureAdvantage``.
    public private(set) var compared = 0
    public let weight: Double

    public init(weight: Double, mixtureSeed: Int) {
        self.weight = min(max(weight, 0.001), 1)
        single = LogNormalFit(weight: weight)
        mixture = LogNormalMixtureFit(seedSize: mixtureSeed, weight: weight)
    }

    public var count: Int { single.count }

    /// What the fit keeps, to store across restarts.
    public struct Statistics: Sendable, Hashable, Codable {
        public var single: LogNormalFit.Statistics
        public var mixture: LogNormalMixtureFit.Statistics
        public var mixtureAdvantage: Double
        public var compared: Int
    }

    public var statistics: Statistics {
        Statistics(single: single.statistics, mixture: mixture.statistics, mixtureAdvantage: mixtureAdvantage, compared: compared)
    }

    /// A fit restored from stored statistics; nil when the single fit's are unusable. A
    /// mixture that does not fit the current seed size starts over (and must win its
    /// comparison again).
    public init?(_ statistics: Statistics, weight: Double, mixtureSeed: Int) {
        self.init(weight: weight, mixtureSeed: mixtureSeed)
        guard let restored = LogNormalFit(statistics.single, weight: self.weight) else { return nil }
        single = restored
        guard let mixed = LogNormalMixtureFit(statistics.mixture, seedSize: mixtureSeed, weight: self.weight),
            statistics.mixtureAdvantage.isFinite, abs(statistics.mixtureAdvantage) <= 1e6, statistics.compared >= 0,
            statistics.compared <= LogNormalFit.maximumCount
        else { return }
        mixture = mixed
        mixtureAdvantage = statistics.mixtureAdvantage
        compared = statistics.compared
    }

    public mutating func add(_ duration: Duration) {
        let x = log(max(duration.inSeconds, 0.001))
        if single.count >= 2, let mixed = mixture.logDensity(ofLog: x) {
            compared += 1
            let alpha = max(weight, 1 / Double(compared))
            mixtureAdvantage += alpha * ((mixed - single.logDensity(ofLog: x)) - mixtureAdvantage)
        }
        single.add(duration)
        mixture.add(duration)
    }

    /// The mixture, when it predicted clearly better over at least `minimumCompared`
    /// tasks; nil: the single fit places polls.
    public func preferredMixture(advantage threshold: Double, minimumCompared: Int) -> LogNormalMixtureFit? {
        guard mixture.isReady, compared >= minimumCompared, mixtureAdvantage >= threshold else { return nil }
        return mixture
    }
}
