import Synchronization

/// One timer for every task waiting to be polled.
///
/// Jobs call ``wait(until:)`` and suspend on a continuation held in a priority queue by
/// due time; a single loop sleeps until the earliest entry is due and resumes what is
/// due. Thousands of pending tasks cost a heap entry each, not a sleeping task each, and
/// the due order is global, so the provider budget serves the oldest-due polls first.
public final class PollScheduler: Sendable {
    private struct Entry {
        var due: ContinuousClock.Instant
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        /// Wakes the loop when an entry earlier than its current sleep target arrives.
        var wake: CheckedContinuation<Void, Never>?
        var sleepingUntil: ContinuousClock.Instant?
        /// The timer of the current sleep, cancelled when something else wakes the loop.
        var timer: Task<Void, Never>?
        var stopped = false

        /// Takes the loop's continuation so exactly one party (an earlier entry, the
        /// timer, or stop) resumes it.
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
    public var waiting: Int { state.withLock { $0.entries.count } }

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
                    s.entries[id] = Entry(due: due, id: id, continuation: c)
                    guard let target = s.sleepingUntil, due < target else { return (nil, false) }
                    return (s.takeWake(), false)
                }
                if refuse { c.resume(throwing: CancellationError()) }
                wake?.resume()
            }
        } onCancel: {
            state.withLock { $0.entries.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
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
            let (due, next, stopped) = state.withLock { s -> ([Entry], ContinuousClock.Instant?, Bool) in
                let due = s.entries.values.filter { $0.due <= now }
                for e in due { s.entries.removeValue(forKey: e.id) }
                return (due, s.entries.values.map(\.due).min(), s.stopped)
            }
            for e in due.sorted(by: { $0.due < $1.due }) { e.continuation.resume() }
            if stopped { return }
            await sleep(until: next ?? now + .seconds(3600))
        }
    }

    /// Wakes every waiter with `CancellationError` and ends ``run()``.
    public func stop() {
        let (entries, wake) = state.withLock { s -> ([Entry], CheckedContinuation<Void, Never>?) in
            s.stopped = true
            defer { s.entries = [:] }
            return (Array(s.entries.values), s.takeWake())
        }
        for e in entries { e.continuation.resume(throwing: CancellationError()) }
        wake?.resume()
    }

    /// Sleeps until `target` or until woken by an earlier entry or stop(). The loop's
    /// continuation is installed and taken under the lock, so a wake-up can be neither
    /// lost nor delivered twice; the timer is a task of its own that only resumes the
    /// sleep it was made for.
    private func sleep(until target: ContinuousClock.Instant) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.stopped || s.entries.values.contains(where: { $0.due < target }) { return true }
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
