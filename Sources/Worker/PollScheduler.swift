import HeapModule
import Synchronization

/// One timer for every task waiting to be polled.
///
/// Jobs call ``wait(until:)`` and suspend on a continuation held in a priority queue by
/// due time; a single loop sleeps until the earliest entry is due and resumes what is
/// due. Thousands of pending tasks cost a heap entry each, not a sleeping task each, and
/// the due order is global, so the provider budget serves the oldest-due polls first.
public final class PollScheduler: Sendable {
    /// A heap key: due time first, then arrival order, so equal due times resume in the
    /// order they were asked for.
    private struct Due: Comparable {
        var at: ContinuousClock.Instant
        var id: UInt64
        static func < (a: Due, b: Due) -> Bool { a.at != b.at ? a.at < b.at : a.id < b.id }
    }

    private struct State {
        /// Due times of waiters. A cancelled waiter leaves its key behind; keys without a
        /// continuation are dropped when they reach the top.
        var queue = Heap<Due>()
        var continuations: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextID: UInt64 = 0
        /// Wakes the loop when an entry earlier than its current sleep target arrives.
        var wake: CheckedContinuation<Void, Never>?
        var sleepingUntil: ContinuousClock.Instant?
        /// The timer of the current sleep, cancelled when something else wakes the loop.
        var timer: Task<Void, Never>?
        var stopped = false

        /// Takes the loop's continuation so exactly one party (an earlier entry, the
        /// timer, or stop) resumes it.
        /// The earliest due time of a waiter still waiting.
        mutating func earliest() -> ContinuousClock.Instant? {
            while let top = queue.min {
                if continuations[top.id] != nil { return top.at }
                queue.removeMin()
            }
            return nil
        }

        /// Removes and returns the waiters due at `now`, earliest first.
        mutating func takeDue(at now: ContinuousClock.Instant) -> [CheckedContinuation<Void, any Error>] {
            var due: [CheckedContinuation<Void, any Error>] = []
            while let top = queue.min, top.at <= now {
                queue.removeMin()
                if let c = continuations.removeValue(forKey: top.id) { due.append(c) }
            }
            return due
        }

        mutating func takeWake() -> CheckedContinuation<Void, Never>? {
            defer {
                wake = nil
                sleepingUntil = nil
                timer?.cancel()
                timer = nil
            }
            return wake
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Number of tasks waiting for their next poll.
    public var waiting: Int { state.withLock { $0.continuations.count } }

    /// Suspends until `due`. Throws `CancellationError` if the calling task is cancelled
    /// (its entry is removed at once) or the scheduler stopped.
    public func wait(until due: ContinuousClock.Instant) async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let (wake, refuse) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
                    if s.stopped || Task.isCancelled { return (nil, true) }
                    s.continuations[id] = c
                    s.queue.insert(Due(at: due, id: id))
                    guard let target = s.sleepingUntil, due < target else { return (nil, false) }
                    return (s.takeWake(), false)
                }
                if refuse { c.resume(throwing: CancellationError()) }
                wake?.resume()
            }
        } onCancel: {
            state.withLock { $0.continuations.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// Runs the timer loop until ``stop()`` or cancellation (which also stops it).
    public func run() async {
        await withTaskCancellationHandler {
            await loop()
        } onCancel: {
            stop()
        }
    }

    private func loop() async {
        while true {
            let now = ContinuousClock.now
            let (due, next, stopped) = state.withLock { s in (s.takeDue(at: now), s.earliest(), s.stopped) }
            for c in due { c.resume() }
            if stopped { return }
            await sleep(until: next ?? now + .seconds(3600))
        }
    }

    /// Wakes every waiter with `CancellationError` and ends ``run()``.
    public func stop() {
        let (waiters, wake) = state.withLock { s -> ([CheckedContinuation<Void, any Error>], CheckedContinuation<Void, Never>?) in
            s.stopped = true
            defer {
                s.continuations = [:]
                s.queue = Heap()
            }
            return (Array(s.continuations.values), s.takeWake())
        }
        for c in waiters { c.resume(throwing: CancellationError()) }
        wake?.resume()
    }

    /// Sleeps until `target` or until woken by an earlier entry or stop(). The loop's
    /// continuation is installed and taken under the lock, so a wake-up can be neither
    /// lost nor delivered twice; the timer is a task of its own that only resumes the
    /// sleep it was made for.
    private func sleep(until target: ContinuousClock.Instant) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.stopped || s.earliest().map({ $0 < target }) == true { return true }
                s.wake = c
                s.sleepingUntil = target
                s.timer = Task { [weak self] in
                    try? await Task.sleep(until: target, clock: .continuous)
                    if Task.isCancelled { return }
                    self?.state.withLock { $0.takeWake() }?.resume()
                }
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}
