import Foundation

/// The duration distribution the planner places polls by: one log-normal, or a mixture
/// of log-normals (weights summing to 1), read as a CDF over seconds.
///
/// The planner asks three things of it: P(done by t), the t where that reaches a
/// probability (by bisection on log t for a mixture: its CDF has no closed inverse), and
/// both under the condition that the duration lies in an interval (the task was pending
/// at its last poll, and progress may bound it from above).
public struct DurationDistribution: Sendable, Hashable {
    /// One log-normal: ln(duration) ~ Normal(meanLog, sigma).
    public struct Component: Sendable, Hashable {
        public var weight: Double
        public var meanLog: Double
        public var sigma: Double

        public init(weight: Double, meanLog: Double, sigma: Double) {
            self.weight = weight
            self.meanLog = meanLog
            self.sigma = sigma
        }
    }

    public private(set) var components: [Component]

    /// Components with a non-positive or non-finite weight or sigma are dropped, and the
    /// weights are normalised; nothing left gives a log-normal of median 1 s.
    public init(_ components: [Component]) {
        let usable = components.filter {
            $0.weight.isFinite && $0.weight > 0 && $0.meanLog.isFinite && $0.sigma.isFinite && $0.sigma > 0
        }
        let total = usable.reduce(0) { $0 + $1.weight }
        guard total > 0 else {
            self.components = [Component(weight: 1, meanLog: 0, sigma: 1)]
            return
        }
        self.components = usable.map { Component(weight: $0.weight / total, meanLog: $0.meanLog, sigma: $0.sigma) }
    }

    /// P(duration <= seconds).
    public func cdf(_ seconds: Double) -> Double {
        guard seconds > 0 else { return 0 }
        guard seconds.isFinite else { return 1 }
        let x = log(seconds)
        return components.reduce(0) { $0 + $1.weight * StandardNormal.cdf((x - $1.meanLog) / $1.sigma) }
    }

    /// The seconds by which the duration is done with probability `p` (clamped into (0, 1)).
    public func quantile(_ p: Double) -> Double {
        let p = min(max(p, 1e-12), 1 - 1e-12)
        if components.count == 1, let only = components.first {
            return exp(only.meanLog + only.sigma * StandardNormal.quantile(p))
        }
        // Every component's quantile brackets the mixture's: bisect between the extremes.
        var low = components.map { $0.meanLog + $0.sigma * StandardNormal.quantile(p) }.min() ?? 0
        var high = components.map { $0.meanLog + $0.sigma * StandardNormal.quantile(p) }.max() ?? 0
        for _ in 0..<80 where high - low > 1e-10 {
            let middle = (low + high) / 2
            if cdf(exp(middle)) < p { low = middle } else { high = middle }
        }
        return exp((low + high) / 2)
    }

    /// The seconds by which a duration known to lie in (`after`, `notAfter`] is done with
    /// probability `p`: F(t) = F(after) + p x (F(notAfter) - F(after)). When the interval
    /// holds almost no probability (the fit says the task should be done already), the
    /// point `p` of the way through it on a log scale; with no upper end, `after` x 2.
    public func conditionalQuantile(_ p: Double, after: Double, notAfter: Double = .infinity) -> Double {
        let low = max(after, 0)
        let lowF = cdf(low)
        let highF = cdf(notAfter)
        let mass = highF - lowF
        guard mass > 1e-9 else {
            guard notAfter.isFinite, low > 0, notAfter > low else { return max(low, 0.001) * 2 }
            return low * pow(notAfter / low, p)
        }
        let t = quantile(lowF + p * mass)
        return min(max(t, low), notAfter)
    }
}
