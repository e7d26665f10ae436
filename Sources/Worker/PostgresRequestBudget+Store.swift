public import Ledger
public import OCRClient

/// The PostgreSQL ledger's database as the meeting place of pods sharing a key.
extension PostgresRequestBudget: RequestBudgetStore {
    public func exchange(keyID: String, lease: SharedBudgetShare.Demand, ttl: Duration, throttled: Bool) async throws -> SharedKeyState {
        let rule = CutRule()
        let state = try await exchange(
            keyID: keyID, lease: Lease(pod: lease.pod, polls: lease.polls, creates: lease.creates), ttl: ttl, throttled: throttled,
            rule: rule)
        return SharedKeyState(
            leases: state.leases.map { SharedBudgetShare.Demand(pod: $0.pod, polls: $0.polls, creates: $0.creates) },
            rateFactor: SharedBudgetShare.recoveredFactor(
                state.rateFactor, secondsSinceCut: state.secondsSinceCut, recoveryStep: rule.recoveryStep,
                recoveryInterval: rule.recoveryIntervalSeconds))
    }

    public func takeSlot(keyID: String, spacing: Duration, horizon: Duration) async throws -> SlotAnswer {
        switch try await takeSlot(keyID: keyID, spacingSeconds: Self.seconds(spacing), horizonSeconds: Self.seconds(horizon)) {
        case .booked(let booking):
            .booked(SlotBooking(delay: Self.duration(booking.delaySeconds), slot: booking.slot, previous: booking.previous))
        case .busy(let seconds):
            .busy(retryIn: Self.duration(seconds))
        }
    }

    public func releaseSlot(keyID: String, _ booking: SlotBooking) async throws -> Bool {
        try await releaseSlot(
            keyID: keyID, BookedSlot(delaySeconds: Self.seconds(booking.delay), slot: booking.slot, previous: booking.previous))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Seconds the store answered (at most a day: its conversion bounds them) as a duration.
    private static func duration(_ seconds: Double) -> Duration {
        .microseconds(Int64(min(max(seconds, 0), 86_400) * 1e6))
    }
}
