/// How pods sharing one API key split its rate: pure, so every rule is testable.
///
/// Each pod states its demand in requests per second, polls and creates apart (a lease,
/// renewed every second or so). Polls keep their priority cluster-wide: the key's rate
/// serves every pod's polls first, in proportion to their poll demand when they exceed
/// it; what is left serves creates in proportion to create demand; what is left after
/// both is split evenly, so a pod whose demand grows has room to show it.
public enum SharedBudgetShare {
    /// One pod's lease: its demand, in requests per second.
    public struct Demand: Sendable, Hashable {
        public var pod: String
        public var polls: Double
        public var creates: Double

        public init(pod: String, polls: Double, creates: Double) {
            self.pod = pod
            self.polls = max(0, polls.isFinite ? polls : 0)
            self.creates = max(0, creates.isFinite ? creates : 0)
        }
    }

    /// `pod`'s share of `limit` among the live `demands` (its own included; when it is
    /// missing, it counts as a pod with no demand).
    public static func share(of limit: Double, for pod: String, among demands: [Demand]) -> Double {
        var all = demands
        if !all.contains(where: { $0.pod == pod }) { all.append(Demand(pod: pod, polls: 0, creates: 0)) }
        guard let own = all.first(where: { $0.pod == pod }), limit > 0 else { return 0 }
        let polls = all.reduce(0) { $0 + $1.polls }
        let creates = all.reduce(0) { $0 + $1.creates }
        if polls >= limit { return limit * own.polls / polls }
        let afterPolls = limit - polls
        if creates >= afterPolls { return own.polls + afterPolls * own.creates / creates }
        return own.polls + own.creates + (afterPolls - creates) / Double(all.count)
    }

    /// The key's rate after 429s, shared by all pods: each 429 (at most one per second,
    /// cluster-wide) halves the factor, which then recovers by `recoveryStep` every
    /// `recoveryInterval` seconds up to 1.
    public static func recoveredFactor(
        _ factor: Double, secondsSinceCut: Double?, recoveryStep: Double = 0.1, recoveryInterval: Double = 5
    ) -> Double {
        guard let since = secondsSinceCut, since.isFinite, since >= 0 else { return min(1, max(factor, 0)) }
        return min(1, max(factor, 0) + recoveryStep * (since / recoveryInterval).rounded(.down))
    }
}
