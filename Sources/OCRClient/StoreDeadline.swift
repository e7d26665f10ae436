import Synchronization

/// A call to the shared budget's store with a deadline that never waits for the store:
/// a store that does not answer (PostgreSQL stopped, a network that drops packets) may
/// ignore cancellation, and a provider request must not wait on it. The call runs in a
/// task of its own; at the deadline the caller goes on without an answer and the late
/// call is cancelled and left to end by itself, handing its answer, if it still comes, to
/// `late` (to give back what it booked).
final class StoreDeadline<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T?, any Error>?
        var finished = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    private init() {}

    /// `operation`'s answer; nil when none came within `timeout` on `clock`. Throws what
    /// the operation threw, or `CancellationError` when the caller is cancelled first.
    static func run(
        within timeout: Duration, clock: any Clock<Duration>, _ operation: @escaping @Sendable () async throws -> T,
        late: (@Sendable (T) async -> Void)? = nil
    ) async throws -> T? {
        let race = StoreDeadline<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation, timeout: timeout, clock: clock, operation, late: late)
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// Starts the call and the timer. The call starts even when the caller was cancelled
    /// already (it is cancelled at once then), so what it does on ending always happens.
    private func start(
        _ continuation: CheckedContinuation<T?, any Error>, timeout: Duration, clock: any Clock<Duration>,
        _ operation: @escaping @Sendable () async throws -> T, late: (@Sendable (T) async -> Void)?
    ) {
        let cancelledAlready = state.withLock { state in
            if !state.finished { state.continuation = continuation }
            return state.finished
        }
        let work = Task {
            do {
                let value = try await operation()
                if !self.finish(.success(value)) { await late?(value) }
            } catch {
                self.finish(.failure(error))
            }
        }
        let timer = Task {
            // Cancelled when the call answered first: then finishing is a no-op.
            try? await clock.sleep(for: timeout)
            self.finish(.success(nil))
        }
        let finished = state.withLock { state in
            if !state.finished { state.tasks = [work, timer] }
            return state.finished
        }
        if finished {
            work.cancel()
            timer.cancel()
        }
        if cancelledAlready { continuation.resume(throwing: CancellationError()) }
    }

    /// Resumes the caller with `outcome` unless it was resumed already; answers whether
    /// this outcome was the one delivered.
    @discardableResult
    private func finish(_ outcome: Result<T?, any Error>) -> Bool {
        let won = state.withLock { state -> (continuation: CheckedContinuation<T?, any Error>?, tasks: [Task<Void, Never>])? in
            guard !state.finished else { return nil }
            state.finished = true
            defer {
                state.continuation = nil
                state.tasks = []
            }
            return (state.continuation, state.tasks)
        }
        guard let won else { return false }
        for task in won.tasks { task.cancel() }
        won.continuation?.resume(with: outcome)
        return true
    }
}
