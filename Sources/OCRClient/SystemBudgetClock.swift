/// ``BudgetClock`` on the system's `ContinuousClock`.
public struct SystemBudgetClock: BudgetClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Duration { ContinuousClock.now - origin }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration, clock: .continuous)
    }
}
