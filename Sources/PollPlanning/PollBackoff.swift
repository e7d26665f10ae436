/// When to poll a task next.
///
/// Starts at ``first`` and grows by ``factor`` up to ``cap`` per poll; when the provider
/// reports progress, the delay shrinks toward the estimated time left (elapsed time x
/// remaining / done), never below ``first``, so a nearly finished task is not left
/// waiting for a long backed-off delay.
public struct PollBackoff: Sendable, Hashable {
    public var first: Duration
    public var factor: Double
    public var cap: Duration

    public init(first: Duration = .seconds(1), factor: Double = 1.5, cap: Duration = .seconds(15)) {
        self.first = first
        self.factor = factor
        self.cap = cap
    }

    /// The delay before poll number `pollsDone + 1`.
    /// - Parameters:
    ///   - pollsDone: polls already made for this task.
    ///   - progress: the provider's last `progress` (0...100), if any.
    ///   - elapsed: time since the task was created.
    public func delay(afterPolls pollsDone: Int, progress: Int?, elapsed: Duration) -> Duration {
        let backoff = min(cap, first * pow(factor, Double(max(0, pollsDone))))
        guard let progress, progress > 0, progress < 100 else { return backoff }
        let remaining = elapsed * (Double(100 - progress) / Double(progress))
        return max(first, min(backoff, remaining))
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= base }
        return result
    }
}
