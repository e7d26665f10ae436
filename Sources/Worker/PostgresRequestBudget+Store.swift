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

    public func takeSlot(keyID: String, spacing: Duration, createHorizon: Duration?) async throws -> Duration? {
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        guard let delay = try await takeSlot(keyID: keyID, spacingSeconds: seconds(spacing), createHorizonSeconds: createHorizon.map(seconds))
        else { return nil }
        return .microseconds(Int64(delay * 1e6))
    }
}
