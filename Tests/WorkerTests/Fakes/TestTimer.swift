import Foundation
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

    func now() -> JobMachine.Now {
        let offset = state.withLock { $0.offset }
        return .init(instant: start + offset, date: startDate.addingTimeInterval(Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18))
    }

    func wait(until due: ContinuousClock.Instant) async throws {
        try Task.checkCancellation()
        state.withLock { s in
            let target = due - start
            s.waits.append(max(.zero, target - s.offset))
            if target > s.offset { s.offset = target }
        }
        await Task.yield()
    }

    func advance(_ by: Duration) { state.withLock { $0.offset += by } }

    /// Simulated time since the start.
    var elapsed: Duration { state.withLock { $0.offset } }
    var waits: [Duration] { state.withLock { $0.waits } }
}
