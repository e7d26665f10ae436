/// Where pods sharing an API key meet: leases of their demand with a short time-to-live
/// (a dead pod's share returns when its lease expires), the key's 429 state and its send
/// slots. The PostgreSQL ledger's `PostgresRequestBudget` is one; tests use an in-memory
/// one.
public protocol RequestBudgetStore: Sendable {
    /// Renews `lease` (for `ttl`), records a 429 seen since the last exchange when
    /// `throttled`, and answers the key's live leases and rate factor.
    func exchange(keyID: String, lease: SharedBudgetShare.Demand, ttl: Duration, throttled: Bool) async throws -> SharedKeyState

    /// Books the key's next send slot: `spacing` after the key's latest one, in order
    /// across pods, so the key never sees requests closer than that, whatever the pods'
    /// phases. Answers ``SlotAnswer/busy(retryIn:)`` and books nothing when that slot is
    /// further ahead than `horizon`: no request waits long for its slot, and polls keep
    /// their priority across pods (creates ask with a shorter horizon).
    func takeSlot(keyID: String, spacing: Duration, horizon: Duration) async throws -> SlotAnswer

    /// Gives `booking` back (its request will not be sent) when it is still the key's
    /// latest slot; answers whether it was given back.
    func releaseSlot(keyID: String, _ booking: SlotBooking) async throws -> Bool
}

/// What ``RequestBudgetStore/takeSlot(keyID:spacing:horizon:)`` answers.
public enum SlotAnswer: Sendable, Hashable {
    case booked(SlotBooking)
    /// The key is booked beyond the horizon; asking again after `retryIn` may succeed.
    case busy(retryIn: Duration)
}

/// A booked send slot.
public struct SlotBooking: Sendable, Hashable {
    /// From the store's now until the slot.
    public var delay: Duration
    /// The slot, and the key's latest slot before it (nil: none), as the store keeps
    /// them: what a release names.
    public var slot: Int64
    public var previous: Int64?

    public init(delay: Duration, slot: Int64, previous: Int64?) {
        self.delay = delay
        self.slot = slot
        self.previous = previous
    }
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
