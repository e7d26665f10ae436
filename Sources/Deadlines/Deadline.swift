import Synchronization

/// Calls that must give up at a deadline even when what they wait on does not: a
/// PostgreSQL server that is stopped, a network that drops packets. Such a wait may ignore
/// cancellation, and a caller waiting for it as a child task would hang with it.
public enum Deadline {
    /// Runs `operation` in a task of its own and returns its value, or nil when `timeout`
    /// passes on `clock` first. Throws what `operation` threw, or `CancellationError` when
    /// the caller is cancelled first.
    ///
    /// The first of the three (the operation's end, the deadline, the caller's
    /// cancellation) resumes the caller; the operation is then cancelled and left to end
    /// by itself. Two hooks handle what it still holds: its ``Abandonment`` runs the
    /// cleanup the operation registered (closing a connection, say) the moment the caller
    /// stops waiting, and `late` receives a value that came after the caller stopped
    /// waiting (to give back what it booked). The operation starts even when the caller
    /// was cancelled already (cancelled at once then), so `late` always sees what it did.
    public static func run<T: Sendable>(
        within timeout: Duration,
        clock: any Clock<Duration> = ContinuousClock(),
        _ operation: @escaping @Sendable (Abandonment) async throws -> T,
        late: (@Sendable (T) async -> Void)? = nil
    ) async throws -> T? {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation, timeout: timeout, clock: clock, operation, late: late)
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// One call's race. Its methods take the lock for the state only; continuations,
    /// cancellations and cleanups run outside it.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T?, any Error>?
            var finished = false
            var tasks: [Task<Void, Never>] = []
        }

        private let state = Mutex(State())
        let abandonment = Abandonment()

        func start(
            _ continuation: CheckedContinuation<T?, any Error>, timeout: Duration, clock: any Clock<Duration>,
            _ operation: @escaping @Sendable (Abandonment) async throws -> T, late: (@Sendable (T) async -> Void)?
        ) {
            let cancelledAlready = state.withLock { state in
                if !state.finished { state.continuation = continuation }
                return state.finished
            }
            let abandonment = abandonment
            let tasks = [
                Task {
                    do {
                        let value = try await operation(abandonment)
                        if !self.finish(.success(value)) { await late?(value) }
                    } catch {
                        self.finish(.failure(error))
                    }
                },
                Task {
                    // Cancelled when the operation answered first: then finishing is a no-op.
                    try? await clock.sleep(for: timeout)
                    if !Task.isCancelled { self.finish(.success(nil)) }
                },
            ]
            let finished = state.withLock { state in
                if !state.finished { state.tasks = tasks }
                return state.finished
            }
            if finished { for task in tasks { task.cancel() } }
            if cancelledAlready { continuation.resume(throwing: CancellationError()) }
        }

        /// Resumes the caller with `outcome` unless it was resumed already; answers
        /// whether this outcome was the one delivered. The caller stops waiting then: the
        /// operation's hold is let go (none is left when it ended by itself).
        @discardableResult
        func finish(_ outcome: Result<T?, any Error>) -> Bool {
            let won = state.withLock { state -> (CheckedContinuation<T?, any Error>?, [Task<Void, Never>])? in
                guard !state.finished else { return nil }
                state.finished = true
                defer {
                    state.continuation = nil
                    state.tasks = []
                }
                return (state.continuation, state.tasks)
            }
            guard let (continuation, tasks) = won else { return false }
            abandonment.abandon()
            for task in tasks { task.cancel() }
            continuation?.resume(with: outcome)
            return true
        }
    }
}
