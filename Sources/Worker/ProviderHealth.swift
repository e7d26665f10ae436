/// Whether the OCR provider may be called: a circuit breaker plus the 401 rule.
///
/// - A 401 is a fault of the deployment (bad key, service off), not of any job: the
///   provider is `unauthorized` until a probe succeeds. Jobs wait; nothing is
///   dead-lettered because of it.
/// - `failureThreshold` consecutive failed calls (transport errors, 5xx, 429 after the
///   client's own retries) open the circuit for `openDuration`, doubling up to
///   `maxOpenDuration` while probes keep failing; one success closes it.
/// While the provider is not usable the worker pauses its partitions (the poll loop goes
/// on, so the pod stays in its group) and `/readyz` fails.
public struct ProviderHealth: Sendable, Hashable {
    public enum Condition: Sendable, Hashable {
        case healthy
        case unauthorized(since: ContinuousClock.Instant)
        case open(until: ContinuousClock.Instant, openFor: Duration)
    }

    public private(set) var condition: Condition = .healthy
    public private(set) var consecutiveFailures = 0
    public var failureThreshold: Int
    public var openDuration: Duration
    public var maxOpenDuration: Duration

    public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(5), maxOpenDuration: Duration = .seconds(60)) {
        self.failureThreshold = failureThreshold
        self.openDuration = openDuration
        self.maxOpenDuration = maxOpenDuration
    }

    /// Calls may go out now (a circuit past its open time lets probes and calls through:
    /// half-open).
    public func allowsCalls(now: ContinuousClock.Instant) -> Bool {
        switch condition {
        case .healthy: return true
        case .unauthorized: return false
        case .open(let until, _): return now >= until
        }
    }

    /// Ready for `/readyz`: not unauthorized and not open.
    public var isHealthy: Bool { condition == .healthy }

    /// A call succeeded (any HTTP answer that is not 401, 429 or 5xx counts).
    public mutating func recordSuccess() {
        consecutiveFailures = 0
        condition = .healthy
    }

    public mutating func recordUnauthorized(now: ContinuousClock.Instant) {
        if case .unauthorized = condition { return }
        condition = .unauthorized(since: now)
    }

    /// A call failed for a reason that says the provider is in trouble.
    public mutating func recordFailure(now: ContinuousClock.Instant) {
        consecutiveFailures += 1
        switch condition {
        case .unauthorized:
            return
        case .open(_, let openFor):
            // A failed half-open call: open again, longer.
            let longer = min(maxOpenDuration, openFor * 2)
            condition = .open(until: now + longer, openFor: longer)
        case .healthy:
            if consecutiveFailures >= failureThreshold {
                condition = .open(until: now + openDuration, openFor: openDuration)
            }
        }
    }
}
