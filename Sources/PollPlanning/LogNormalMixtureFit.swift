import Foundation

/// An online fit of a two-component log-normal mixture to task durations: for a provider
/// whose tasks come in two kinds (quick pages and slow ones, say) that one log-normal
/// smears into a wide hump between them.
///
/// Works on log durations. The first ``seedSize`` samples are kept and fitted by batch EM
/// (started from their lower and upper quartiles); after that each sample updates the
/// components by stepwise online EM: its responsibilities r_k (the posterior that it came
/// from component k) update each component's running sums of r_k, r_k x, r_k x^2 with
/// the step max(``weight``, 1/n), and weight, mean and variance are read from the sums.
/// So, like ``LogNormalFit``, it weighs about the last 1/``weight`` tasks most and follows
/// drift. Whether it is *used* is ``DurationFit``'s call.
public struct LogNormalMixtureFit: Sendable, Hashable {
    /// Running sums of one component: Σr, Σr·x, Σr·x² (exponentially weighted).
    struct Sums: Sendable, Hashable {
        var r = 0.0
        var rx = 0.0
        var rxx = 0.0
    }

    /// Samples seen.
    public private(set) var count = 0
    /// Samples fitted in one batch before the online updates start.
    public let seedSize: Int
    public let weight: Double
    /// Floor of each component's sigma.
    public let minimumSigma: Double
    private var seed: [Double] = []
    private var sums: [Sums] = []

    public init(seedSize: Int = 20, weight: Double = 0.05, minimumSigma: Double = 0.05) {
        self.seedSize = max(4, seedSize)
        self.weight = min(max(weight, 0.001), 1)
        self.minimumSigma = max(minimumSigma, 0.001)
    }

    /// What the fit keeps, to store across restarts: the count, the seed not yet fitted,
    /// and each component's running sums (Σr, Σr·x, Σr·x²).
    public struct Statistics: Sendable, Hashable, Codable {
        public var count: Int
        public var seed: [Double]
        public var sums: [[Double]]
    }

    public var statistics: Statistics {
        Statistics(count: count, seed: seed, sums: sums.map { [$0.r, $0.rx, $0.rxx] })
    }

    /// A fit restored from stored statistics; nil when they are not this fit's: a seed as
    /// long as `seedSize` or longer (a smaller seed size since), sums for other than two
    /// components, or numbers that are not finite.
    public init?(_ statistics: Statistics, seedSize: Int, weight: Double) {
        self.init(seedSize: seedSize, weight: weight)
        let numbers = statistics.seed + statistics.sums.flatMap { $0 }
        guard statistics.count >= 0, statistics.count <= LogNormalFit.maximumCount, statistics.seed.count < self.seedSize,
            statistics.sums.isEmpty || (statistics.sums.count == 2 && statistics.seed.isEmpty),
            statistics.sums.allSatisfy({ $0.count == 3 && $0[0] >= 0 }), numbers.allSatisfy({ $0.isFinite && abs($0) <= 1e6 })
        else { return nil }
        count = statistics.count
        seed = statistics.seed
        sums = statistics.sums.map { Sums(r: $0[0], rx: $0[1], rxx: $0[2]) }
    }

    /// Whether the seed was fitted and the mixture can be read.
    public var isReady: Bool { !sums.isEmpty }

    /// The two components (empty until ``isReady``), lower median first.
    public var components: [DurationDistribution.Component] {
        sums.map { component(of: $0) }.sorted { $0.meanLog < $1.meanLog }
    }

    public var distribution: DurationDistribution { DurationDistribution(components) }

    /// The density of a log duration `x` under the mixture (nil until ``isReady``).
    public func logDensity(ofLog x: Double) -> Double? {
        guard isReady else { return nil }
        let densities = sums.map { sums -> Double in
            let c = component(of: sums)
            let z = (x - c.meanLog) / c.sigma
            return log(max(c.weight, 1e-300)) - 0.5 * z * z - log(c.sigma) - 0.5 * log(2 * Double.pi)
        }
        let top = densities.max() ?? 0
        return top + log(densities.reduce(0) { $0 + exp($1 - top) })
    }

    /// Adds one task's duration (at least a millisecond).
    public mutating func add(_ duration: Duration) {
        let x = log(max(duration.inSeconds, 0.001))
        count += 1
        guard isReady else {
            seed.append(x)
            if seed.count >= seedSize { fitSeed() }
            return
        }
        let alpha = max(weight, 1 / Double(count))
        let r = responsibilities(x)
        for k in sums.indices {
            sums[k].r = (1 - alpha) * sums[k].r + alpha * r[k]
            sums[k].rx = (1 - alpha) * sums[k].rx + alpha * r[k] * x
            sums[k].rxx = (1 - alpha) * sums[k].rxx + alpha * r[k] * x * x
        }
    }

    private func component(of sums: Sums) -> DurationDistribution.Component {
        let r = max(sums.r, 1e-12)
        let mean = sums.rx / r
        let variance = sums.rxx / r - mean * mean
        return .init(weight: sums.r, meanLog: mean, sigma: max(minimumSigma, max(variance, 0).squareRoot()))
    }

    private func responsibilities(_ x: Double) -> [Double] {
        let logs = sums.map { sums -> Double in
            let c = component(of: sums)
            let z = (x - c.meanLog) / c.sigma
            return log(max(c.weight, 1e-300)) - 0.5 * z * z - log(c.sigma)
        }
        let top = logs.max() ?? 0
        let weights = logs.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// Batch EM over the seed, from its quartiles, 50 rounds; then the seed is dropped.
    private mutating func fitSeed() {
        let sorted = seed.sorted()
        let n = Double(sorted.count)
        let spread = max(minimumSigma, (sorted[sorted.count * 3 / 4] - sorted[sorted.count / 4]) / 2)
        sums = [sorted[sorted.count / 4], sorted[sorted.count * 3 / 4]].map { mean in
            Sums(r: 0.5, rx: 0.5 * mean, rxx: 0.5 * (spread * spread + mean * mean))
        }
        for _ in 0..<50 {
            var next = [Sums(), Sums()]
            for x in sorted {
                let r = responsibilities(x)
                for k in 0..<2 {
                    next[k].r += r[k] / n
                    next[k].rx += r[k] * x / n
                    next[k].rxx += r[k] * x * x / n
                }
            }
            // A component that lost every sample is put back at the median, narrow: the
            // next samples decide whether a second kind exists.
            for k in 0..<2 where next[k].r < 1e-6 {
                let median = sorted[sorted.count / 2]
                next[k] = Sums(r: 1e-6, rx: 1e-6 * median, rxx: 1e-6 * (minimumSigma * minimumSigma + median * median))
            }
            sums = next
        }
        seed = []
    }
}
