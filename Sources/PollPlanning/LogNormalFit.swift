import Foundation

/// An online fit of a log-normal distribution to task durations: exponentially weighted
/// mean and variance of the log duration.
///
/// The first samples are averaged with equal weight (weight 1/n), later ones with
/// ``weight``, so the fit starts unbiased and then follows drift (a provider that slows
/// down) with a memory of about 1/``weight`` tasks.
public struct LogNormalFit: Sendable, Hashable {
    /// Samples seen.
    public private(set) var count = 0
    /// Mean of ln(seconds).
    public private(set) var meanLog = 0.0
    /// Variance of ln(seconds).
    public private(set) var varianceLog = 0.0
    /// The newest sample's weight once more than 1/weight samples were seen.
    public let weight: Double
    /// Floor of ``sigma``: a few identical durations must not make the fit certain.
    public let minimumSigma: Double

    public init(weight: Double = 0.05, minimumSigma: Double = 0.05) {
        self.weight = min(max(weight, 0.001), 1)
        self.minimumSigma = max(minimumSigma, 0.001)
    }

    /// Adds one task's duration (at least a millisecond, so its log is finite).
    public mutating func add(_ duration: Duration) {
        let x = log(max(duration.inSeconds, 0.001))
        count += 1
        let alpha = max(weight, 1 / Double(count))
        let delta = x - meanLog
        meanLog += alpha * delta
        varianceLog = (1 - alpha) * (varianceLog + alpha * delta * delta)
    }

    public var sigma: Double { max(minimumSigma, varianceLog.squareRoot()) }
    public var median: Duration { .fromSeconds(exp(meanLog)) }

    /// P(duration <= elapsed).
    public func probabilityDone(by elapsed: Duration) -> Double {
        let t = elapsed.inSeconds
        guard t > 0 else { return 0 }
        return StandardNormal.cdf((log(t) - meanLog) / sigma)
    }

    /// The fit as the planner reads it.
    public var distribution: DurationDistribution {
        DurationDistribution([.init(weight: 1, meanLog: meanLog, sigma: sigma)])
    }

    /// The density of a log duration `x` under the fit (the mixture's rival, compared in
    /// ``DurationFit``).
    public func logDensity(ofLog x: Double) -> Double {
        let z = (x - meanLog) / sigma
        return -0.5 * z * z - log(sigma) - 0.5 * log(2 * Double.pi)
    }

    /// What the fit keeps, to store across restarts (``DurationModel/snapshot()``).
    public struct Statistics: Sendable, Hashable, Codable {
        public var count: Int
        public var meanLog: Double
        public var varianceLog: Double
    }

    public var statistics: Statistics { Statistics(count: count, meanLog: meanLog, varianceLog: varianceLog) }

    /// A fit restored from stored statistics; nil when they are not a fit's (stored data
    /// is outside data: a negative count, a non-finite or absurd log, a negative variance).
    public init?(_ statistics: Statistics, weight: Double) {
        guard statistics.count >= 0, statistics.count <= Self.maximumCount, statistics.meanLog.isFinite,
            abs(statistics.meanLog) <= 50, statistics.varianceLog.isFinite, statistics.varianceLog >= 0,
            statistics.varianceLog <= 100
        else { return nil }
        self.init(weight: weight)
        count = statistics.count
        meanLog = statistics.meanLog
        varianceLog = statistics.varianceLog
    }

    /// The most tasks a restored count may claim (counts only pick 1/n against the weight).
    static let maximumCount = 1 << 40

    /// The elapsed time by which a task is done with probability `p`.
    public func elapsed(atProbability p: Double) -> Duration {
        .fromSeconds(exp(meanLog + sigma * StandardNormal.quantile(p)))
    }
}
