import Foundation

/// Retries of transient failures: exponential backoff with full jitter, bounded in
/// attempts and in total time.
///
/// Delay before retry *n* (1-based) is uniform in `0 ... min(maxDelay, baseDelay * 2^(n-1))`
/// ("full jitter": many clients that failed together do not retry together). A
/// `Retry-After` from the server replaces the jittered delay when it is longer. No retry
/// starts if it could not begin within ``maxTotalTime`` of the first attempt.
public struct RetryPolicy: Sendable {
    /// Attempts in total, the first included (1 = no retry).
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var maxTotalTime: Duration
    /// Whether a create is retried after a failure that leaves unknown whether the provider
    /// accepted it (read timeout, reset or cut reply after the form was sent). Retrying may
    /// create a second task for the same document; not retrying leaves the decision to the
    /// caller, which can consult its ledger. Off by default. Creates are always retried after
    /// 429, 5xx and failures to connect, where the provider did not create anything (5xx:
    /// as far as the API documents).
    public var retryAmbiguousCreates: Bool
    /// Draws the jittered delay from `0...upperBound` seconds; replaceable for tests.
    public var jitter: @Sendable (Double) -> Double

    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30),
        maxTotalTime: Duration = .seconds(120), retryAmbiguousCreates: Bool = false,
        jitter: @escaping @Sendable (Double) -> Double = { Double.random(in: 0...max(0, $0)) }
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxTotalTime = maxTotalTime
        self.retryAmbiguousCreates = retryAmbiguousCreates
        self.jitter = jitter
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The delay before retry number `retry` (1 for the first retry).
    public func delay(beforeRetry retry: Int, retryAfter: Duration?) -> Duration {
        let exponent = Double(min(max(retry - 1, 0), 30))
        let cap = min(TokenBucket.seconds(maxDelay), TokenBucket.seconds(baseDelay) * pow(2, exponent))
        let jittered = Duration.milliseconds(Int64(min(max(0, jitter(cap)), cap) * 1000))
        guard let retryAfter else { return jittered }
        return max(retryAfter, jittered)
    }
}
