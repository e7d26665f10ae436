/// The pure state of the request budget: a token bucket whose rate adapts to 429s.
///
/// Time is passed in (`now`, monotonic), so every rule is testable without waiting:
/// - Tokens accrue at ``rate`` per second up to ``capacity``: ``Configuration/burst``, or
///   one ``dispatchInterval``'s worth of the rate when that is more.
/// - A 429 cuts the rate at once (multiplied by ``Configuration/decreaseFactor``, not below
///   ``Configuration/minimumRate``) and empties the bucket. Several 429s that answer
///   requests sent before the first cut arrive together; they count as one cut
///   (at most one cut per ``Configuration/cutCooldown``).
/// - The rate recovers additively: ``Configuration/recoveryStep`` per
///   ``Configuration/recoveryInterval`` without a 429, up to the configured maximum.
/// - A `Retry-After` (on 429 or 503) pauses every grant until it has passed.
public struct TokenBucket: Sendable, Hashable {
    public struct Configuration: Sendable, Hashable {
        /// The maximum, and initial, rate in requests per second.
        public var requestsPerSecond: Double
        /// Tokens that may accumulate while idle (1 = strictly paced).
        public var burst: Double
        public var minimumRate: Double
        public var decreaseFactor: Double
        public var recoveryStep: Double
        public var recoveryInterval: Duration
        public var cutCooldown: Duration

        public init(
            requestsPerSecond: Double = 2, burst: Double = 1, minimumRate: Double = 0.1,
            decreaseFactor: Double = 0.5, recoveryStep: Double = 0.2, recoveryInterval: Duration = .seconds(5),
            cutCooldown: Duration = .seconds(1)
        ) {
            self.requestsPerSecond = max(0.001, requestsPerSecond)
            self.burst = max(1, burst)
            self.minimumRate = min(max(0.001, minimumRate), self.requestsPerSecond)
            self.decreaseFactor = min(max(0.01, decreaseFactor), 1)
            self.recoveryStep = max(0, recoveryStep)
            self.recoveryInterval = recoveryInterval
            self.cutCooldown = cutCooldown
        }
    }

    public let configuration: Configuration
    /// The rate the bucket recovers up to: the configured rate, or this pod's share of the
    /// key's rate when pods share one (``setCeiling(_:now:)``).
    public private(set) var ceiling: Double
    /// The current rate in requests per second.
    public private(set) var rate: Double
    public private(set) var tokens: Double
    /// No grants before this time (from `Retry-After`).
    public private(set) var pausedUntil: Duration?
    private var lastRefill: Duration
    private var lastAdjustment: Duration
    private var lastCut: Duration?

    /// The shortest sleep of the budget's dispatcher between grants to waiting requests.
    public static let dispatchInterval: Duration = .milliseconds(1)

    /// The most tokens the bucket holds. Waiting requests are served by a dispatcher that
    /// wakes at most once per ``dispatchInterval``; with a cap of one token it would grant
    /// one request per wake-up, so a rate above 1,000 per second could never be reached and
    /// once a queue formed every request behind it would wait for a timer. Below that rate
    /// this is ``Configuration/burst``.
    public var capacity: Double { max(configuration.burst, rate * Self.seconds(Self.dispatchInterval)) }

    public init(configuration: Configuration = .init(), now: Duration) {
        self.configuration = configuration
        rate = configuration.requestsPerSecond
        ceiling = configuration.requestsPerSecond
        tokens = configuration.burst
        lastRefill = now
        lastAdjustment = now
    }

    /// Accrues tokens and recovers the rate up to `now`.
    public mutating func refill(now: Duration) {
        guard now > lastRefill else { return }
        while rate < ceiling, configuration.recoveryStep > 0,
            now - lastAdjustment >= configuration.recoveryInterval
        {
            lastAdjustment += configuration.recoveryInterval
            rate = min(ceiling, rate + configuration.recoveryStep)
        }
        if rate >= ceiling { lastAdjustment = now }
        let elapsed = Self.seconds(now - lastRefill)
        tokens = min(capacity, tokens + elapsed * rate)
        lastRefill = now
        if let pausedUntil, now >= pausedUntil { self.pausedUntil = nil }
    }

    /// Takes one token if one is available and no pause is in force.
    public mutating func tryTake(now: Duration) -> Bool {
        refill(now: now)
        if let pausedUntil, now < pausedUntil { return false }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// How long from `now` until ``tryTake(now:)`` can succeed (zero if it can now).
    public func delayUntilNextToken(now: Duration) -> Duration {
        var copy = self
        copy.refill(now: now)
        var wait = Duration.zero
        if let pausedUntil = copy.pausedUntil, pausedUntil > now { wait = pausedUntil - now }
        if copy.tokens < 1 {
            // Tokens keep accruing during the pause.
            let missing = max(0, 1 - copy.tokens - Self.seconds(wait) * copy.rate)
            wait += .milliseconds(Int64((missing / copy.rate * 1000).rounded(.up)))
        }
        return wait
    }

    /// A 429: cut the rate (once per cool-down), empty the bucket, honour `retryAfter`.
    public mutating func recordThrottle(now: Duration, retryAfter: Duration?) {
        refill(now: now)
        if lastCut.map({ now - $0 >= configuration.cutCooldown }) ?? true {
            rate = max(configuration.minimumRate, rate * configuration.decreaseFactor)
            lastCut = now
        }
        lastAdjustment = now
        tokens = min(tokens, 0)
        if let retryAfter { pause(until: now + retryAfter) }
    }

    /// Moves the rate's ceiling (a new share of a shared key). A rate at the old ceiling
    /// follows it at once, up or down; a rate still recovering from a 429 stays where it
    /// is (below the new ceiling) and keeps recovering slowly.
    public mutating func setCeiling(_ requestsPerSecond: Double, now: Duration) {
        refill(now: now)
        let new = max(0.001, requestsPerSecond)
        if rate >= ceiling || rate > new { rate = new }
        ceiling = new
        lastAdjustment = now
    }

    /// A `Retry-After` without a rate cut (e.g. on 503).
    public mutating func pause(until deadline: Duration) {
        pausedUntil = max(pausedUntil ?? deadline, deadline)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
