import Foundation
import JobCore
import Synchronization
import Worker

/// A test clock for the job engine: `wait(until:)` jumps time to the instant at once, so a
/// job's 15-minute life runs in microseconds, and every wait is recorded.
final class TestTimer: JobTimer {
    private struct State {
        var offset: Duration = .zero
        var waits: [Duration] = []
    }

    let start = ContinuousClock.now
    let startDate = Date()
    private let state = Mutex(State())
    private let hook = Mutex<(@Sendable (_ waitNumber: Int) async throws -> Void)?>(nil)

    /// Runs `body` inside every later wait (numbered from 1), before the wait returns: lets
    /// a test make something happen "while the job waits" without racing a real sleep.
    func onWait(_ body: @escaping @Sendable (_ waitNumber: Int) async throws -> Void) {
        hook.withLock { $0 = body }
    }

    func now() -> JobMachine.Now {
        let offset = state.withLock { $0.offset }
        return .init(
            instant: start + offset,
            date: startDate.addingTimeInterval(Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18))
    }

    func wait(until due: ContinuousClock.Instant) async throws {
        try Task.checkCancellation()
        let number = state.withLock { s -> Int in
            let target = due - start
            s.waits.append(max(.zero, target - s.offset))
            if target > s.offset { s.offset = target }
            return s.waits.count
        }
        if let body = hook.withLock({ $0 }) { try await body(number) }
        await Task.yield()
    }

    func advance(_ by: Duration) { state.withLock { $0.offset += by } }

    /// Simulated time since the start.
    var elapsed: Duration { state.withLock { $0.offset } }
    var waits: [Duration] { state.withLock { $0.waits } }
}
