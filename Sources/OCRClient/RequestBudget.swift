import Synchronization

/// The provider request budget of one client: every create, poll and result download
/// takes a token first (docs/architecture.md).
///
/// One ``TokenBucket`` behind a `Mutex`, and a queue of waiters ordered by
/// ``RequestPriority`` then arrival, so polls and downloads of existing tasks overtake
/// queued creates. A caller that finds the queue empty and a token ready goes at once;
/// otherwise it waits, and a single dispatcher task (alive only while someone waits)
/// sleeps until the next token and hands it to the first waiter. Cancelling a waiting
/// caller removes it from the queue and throws `CancellationError`.
public final class RequestBudget: Sendable {
    private enum Slot {
        case registered
        case waiting(CheckedContinuation<Void, any Error>)
        case cancelled
    }

    private struct Waiter {
        var id: UInt64
        var priority: RequestPriority
    }

    private struct State {
        var bucket: TokenBucket
        var slots: [UInt64: Slot] = [:]
        var queue: [Waiter] = []
        var nextID: UInt64 = 0
        var dispatcherRunning = false
        var granted: [RequestPriority: Int] = [:]
        var throttles = 0
        var slotGate: (@Sendable (RequestPriority) async throws -> Void)?

        mutating func enqueue(_ waiter: Waiter) {
            let index = queue.firstIndex { $0.priority > waiter.priority } ?? queue.endIndex
            queue.insert(waiter, at: index)
        }
    }

    /// The budget's time source, for its waits and for the waits of the client's retries
    /// and the shared budget's slots: `ContinuousClock` in production, a manual clock in
    /// tests.
    public let clock: any Clock<Duration>
    /// Time on ``clock`` since the budget was made: the monotonic `now` ``TokenBucket``
    /// takes.
    private let elapsed: @Sendable () -> Duration
    private let state: Mutex<State>

    public init(configuration: TokenBucket.Configuration = .init(), clock: any Clock<Duration> = ContinuousClock()) {
        self.clock = clock
        let elapsed = Self.elapsedReader(clock)
        self.elapsed = elapsed
        state = Mutex(State(bucket: TokenBucket(configuration: configuration, now: elapsed())))
    }

    /// Time on ``clock`` since the budget was made (monotonic, from zero).
    public func now() -> Duration { elapsed() }

    /// Reads elapsed time on `clock`. Instants of an `any Clock` cannot be subtracted (each
    /// clock has its own `Instant` type), so the existential is opened once, here, and the
    /// origin kept in the clock's own type.
    private static func elapsedReader<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }

    /// Waits for a token, then for the slot gate when one is set (``setSlotGate(_:)``).
    /// Throws `CancellationError` if the task is cancelled first.
    public func acquire(_ priority: RequestPriority) async throws {
        try await acquireToken(priority)
        if let gate = state.withLock({ $0.slotGate }) { try await gate(priority) }
    }

    /// Sets a wait every request makes after its token: the key's shared send slot when
    /// pods share one key (``SharedRequestBudget``).
    public func setSlotGate(_ gate: (@Sendable (RequestPriority) async throws -> Void)?) {
        state.withLock { $0.slotGate = gate }
    }

    private func acquireToken(_ priority: RequestPriority) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            state.slots[state.nextID] = .registered
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now = now()
                enum Next {
                    case go, cancelled
                    case wait(startDispatcher: Bool)
                }
                let next: Next = state.withLock { state in
                    if case .cancelled = state.slots[id] {
                        state.slots[id] = nil
                        return .cancelled
                    }
                    if state.queue.isEmpty, state.bucket.tryTake(now: now) {
                        state.slots[id] = nil
                        state.granted[priority, default: 0] += 1
                        return .go
                    }
                    state.slots[id] = .waiting(continuation)
                    state.enqueue(Waiter(id: id, priority: priority))
                    let start = !state.dispatcherRunning
                    state.dispatcherRunning = true
                    return .wait(startDispatcher: start)
                }
                switch next {
                case .go: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .wait(let start):
                    if start { Task { await self.dispatch() } }
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                switch state.slots[id] {
                case .registered:
                    state.slots[id] = .cancelled
                    return nil
                case .waiting(let continuation):
                    state.slots[id] = nil
                    state.queue.removeAll { $0.id == id }
                    return continuation
                case .cancelled, nil:
                    return nil
                }
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Reports a 429: cuts the rate and honours `Retry-After`.
    public func recordThrottle(retryAfter: Duration?) {
        let now = now()
        state.withLock {
            $0.bucket.recordThrottle(now: now, retryAfter: retryAfter)
            $0.throttles += 1
        }
    }

    /// 429s reported so far (``recordThrottle(retryAfter:)``).
    public var throttles: Int { state.withLock { $0.throttles } }

    /// How much longer the provider's `Retry-After` holds every request back; nil when
    /// requests may go (at the budget's rate).
    public var remainingPause: Duration? {
        let now = now()
        return state.withLock { state in
            guard let until = state.bucket.pausedUntil, until > now else { return nil }
            return until - now
        }
    }

    /// Sets the rate this budget recovers up to: its share of a key shared by several
    /// pods (``SharedRequestBudget``). See ``TokenBucket/setCeiling(_:now:)``.
    public func setCeiling(_ requestsPerSecond: Double) {
        let now = now()
        state.withLock { $0.bucket.setCeiling(requestsPerSecond, now: now) }
    }

    /// Callers waiting for a token, by priority.
    public func waiting(_ priority: RequestPriority) -> Int { state.withLock { $0.queue.count { $0.priority == priority } } }

    /// Reports a `Retry-After` on another status (503): pauses without cutting the rate.
    public func pause(for delay: Duration) {
        let now = now()
        state.withLock { $0.bucket.pause(until: now + delay) }
    }

    /// The current rate in requests per second.
    public var currentRate: Double {
        let now = now()
        return state.withLock { state in
            state.bucket.refill(now: now)
            return state.bucket.rate
        }
    }

    /// Callers waiting for a token.
    public var waiting: Int { state.withLock { $0.queue.count } }

    /// Tokens handed out so far, by priority.
    public func granted(_ priority: RequestPriority) -> Int { state.withLock { $0.granted[priority, default: 0] } }

    /// Hands tokens to waiters in order until none wait; sleeps on the clock in between.
    private func dispatch() async {
        while true {
            let now = now()
            var ready: [CheckedContinuation<Void, any Error>] = []
            let delay: Duration? = state.withLock { state in
                while let first = state.queue.first, state.bucket.tryTake(now: now) {
                    state.queue.removeFirst()
                    if case .waiting(let continuation) = state.slots.removeValue(forKey: first.id) {
                        ready.append(continuation)
                        state.granted[first.priority, default: 0] += 1
                    }
                }
                if state.queue.isEmpty {
                    state.dispatcherRunning = false
                    return nil
                }
                return max(TokenBucket.dispatchInterval, state.bucket.delayUntilNextToken(now: now))
            }
            for continuation in ready { continuation.resume() }
            guard let delay else { return }
            // Not cancellable: the dispatcher is unstructured and exits when the queue empties.
            try? await clock.sleep(for: delay)
        }
    }
}
