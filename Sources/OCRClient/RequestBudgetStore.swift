/// Where pods sharing an API key meet: leases of their demand with a short time-to-live
/// (a dead pod's share returns when its lease expires) and the key's 429 state. The
/// PostgreSQL ledger's `PostgresRequestBudget` is one; tests use an in-memory one.
public protocol RequestBudgetStore: Sendable {
    /// Renews `lease` (for `ttl`), records a 429 seen since the last exchange when
    /// `throttled`, and answers the key's live leases and rate factor.
    func exchange(keyID: String, lease: SharedBudgetShare.Demand, ttl: Duration, throttled: Bool) async throws -> SharedKeyState

    /// Takes the key's next send slot: slots are `spacing` apart and handed out in order
    /// across pods, so the key never sees requests closer than that, whatever the pods'
    /// phases. Answers how long from now until the slot; nil for a create while the key is
    /// booked further ahead than `createHorizon` (polls keep their priority across pods:
    /// a create never queues behind a backlog of them), and the create asks again later.
    func takeSlot(keyID: String, spacing: Duration, createHorizon: Duration?) async throws -> Duration?
}

/// A key's shared state as a store answers it.
public struct SharedKeyState: Sendable, Hashable {
    /// Live leases, this pod's included.
    public var leases: [SharedBudgetShare.Demand]
    /// The key's rate factor after 429s, already recovered to now (0...1).
    public var rateFactor: Double

    public init(leases: [SharedBudgetShare.Demand], rateFactor: Double) {
        self.leases = leases
        self.rateFactor = rateFactor
    }
}
