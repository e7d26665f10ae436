import NetworkAddress
import OCRTaskAPI
import Synchronization

/// Waits for a resolver's answer until a deadline, without waiting for the resolver: a
/// blocked `getaddrinfo` cannot be interrupted, and a task group would wait for its child
/// even after cancelling it. The lookup runs in a task of its own and is cancelled (and
/// abandoned) when the deadline or the caller's cancellation comes first.
enum ResolutionDeadline {
    /// The resolver did not answer in time.
    struct TimedOut: Error {}

    static func resolve(_ host: String, with resolver: any HostResolver, within timeout: Duration) async throws -> [IPAddress] {
        let gate = FirstAnswer()
        let lookup = Task {
            do { gate.answer(.success(try await resolver.resolve(host))) } catch { gate.answer(.failure(error)) }
        }
        let timer = Task {
            do { try await Task.sleep(for: timeout) } catch { return }
            gate.answer(.failure(TimedOut()))
        }
        defer {
            lookup.cancel()
            timer.cancel()
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { gate.wait($0) }
        } onCancel: {
            gate.answer(.failure(CancellationError()))
        }
    }

    /// The first of the racing answers, handed to the waiting continuation whichever of
    /// the two comes first; later answers are dropped.
    private final class FirstAnswer: Sendable {
        private struct State {
            var continuation: CheckedContinuation<[IPAddress], any Error>?
            var answer: Result<[IPAddress], any Error>?
        }

        private let state = Mutex(State())

        func wait(_ continuation: CheckedContinuation<[IPAddress], any Error>) {
            let ready = state.withLock { state -> Result<[IPAddress], any Error>? in
                if let answer = state.answer { return answer }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }

        func answer(_ result: Result<[IPAddress], any Error>) {
            let waiting = state.withLock { state -> CheckedContinuation<[IPAddress], any Error>? in
                guard state.answer == nil else { return nil }
                state.answer = result
                defer { state.continuation = nil }
                return state.continuation
            }
            waiting?.resume(with: result)
        }
    }
}
