import Synchronization

/// One request of a pod at a time books a shared send slot, first come first served: a
/// poll that finds the key booked to its horizon waits for it holding the turn, so the
/// pod's other requests queue here instead of each asking the store again. Waiting is
/// cancellable (the waiter leaves the queue and throws `CancellationError`).
final class SlotTurn: Sendable {
    private enum Waiter {
        case registered
        case waiting(CheckedContinuation<Void, any Error>)
        case cancelled
    }

    private struct State {
        var held = false
        var order: [UInt64] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Waits for the turn; call ``release()`` when done with it.
    func acquire() async throws {
        let id = state.withLock { state in
            state.nextID += 1
            state.waiters[state.nextID] = .registered
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Next { case go, cancelled, wait }
                let next: Next = state.withLock { state in
                    if case .cancelled = state.waiters[id] {
                        state.waiters[id] = nil
                        return .cancelled
                    }
                    if !state.held {
                        state.held = true
                        state.waiters[id] = nil
                        return .go
                    }
                    state.waiters[id] = .waiting(continuation)
                    state.order.append(id)
                    return .wait
                }
                switch next {
                case .go: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                switch state.waiters[id] {
                case .registered:
                    state.waiters[id] = .cancelled
                    return nil
                case .waiting(let continuation):
                    state.waiters[id] = nil
                    state.order.removeAll { $0 == id }
                    return continuation
                case .cancelled, nil:
                    return nil
                }
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Hands the turn to the first waiter, or frees it.
    func release() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { state in
            while !state.order.isEmpty {
                let id = state.order.removeFirst()
                if case .waiting(let continuation) = state.waiters.removeValue(forKey: id) { return continuation }
            }
            state.held = false
            return nil
        }
        next?.resume()
    }
}
