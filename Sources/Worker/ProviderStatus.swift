/// What the provider lets this pod do now, for `/readyz` and the metrics: whether it is
/// paused, why, and for how much longer.
///
/// Readiness fails for an unauthorized key or an open circuit (``ProviderHealth``); a
/// `Retry-After` pause does not (the pod is working as it should, at the provider's
/// pace) but is shown, so an operator sees why a pod sends nothing.
public struct ProviderStatus: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Requests go at the budget's rate.
        case available
        /// The provider asked us to wait (`Retry-After` on a 429 or 5xx).
        case retryAfter = "retry_after"
        /// Too many calls failed in a row; probes find out when it answers again.
        case circuitOpen = "circuit_open"
        /// The provider refused the API key (401).
        case unauthorized
    }

    public var state: State
    /// How much longer the pause lasts; nil while unauthorized (until a probe succeeds)
    /// or available.
    public var remaining: Duration?

    public init(state: State, remaining: Duration? = nil) {
        self.state = state
        self.remaining = remaining
    }

    /// The status from the circuit and the request budget's pause, the circuit first.
    public init(condition: ProviderHealth.Condition, budgetPause: Duration?, now: ContinuousClock.Instant) {
        switch condition {
        case .unauthorized:
            self.init(state: .unauthorized)
        case .open(let until, _) where until > now:
            self.init(state: .circuitOpen, remaining: max(until - now, budgetPause ?? .zero))
        case .open, .healthy:
            if let budgetPause, budgetPause > .zero {
                self.init(state: .retryAfter, remaining: budgetPause)
            } else {
                self.init(state: .available)
            }
        }
    }

    /// Seconds left, for JSON and gauges (0 when not paused or unknown).
    public var remainingSeconds: Double {
        guard let remaining else { return 0 }
        return Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
    }
}
