/// The time source of ``RequestBudget``: monotonic time and sleeping. Injected so tests can
/// drive the budget deterministically (a manual clock), while production uses
/// ``SystemBudgetClock``.
public protocol BudgetClock: Sendable {
    /// Monotonic time since an arbitrary, fixed origin.
    func now() -> Duration
    /// Suspends for `duration` (or until cancelled).
    func sleep(for duration: Duration) async throws
}
