import Synchronization

/// Stands in for an operation that ignores cancellation (a wedged call): ``wait()`` returns
/// only once ``open()`` is called, cancelled or not.
///
/// It waits suspended, never polling: a cancelled task's `Task.sleep` throws at once
/// without suspending, so a loop of `try? await Task.sleep` in a cancelled task holds its
/// thread, and two such loops hold both threads of a two-core machine's cooperative pool;
/// the test that would open them then never runs.
public final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    public var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Lets every waiter, present and future, go on.
    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open; cancellation does not end the wait.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let openAlready = state.withLock { state in
                if !state.isOpen { state.waiters.append(continuation) }
                return state.isOpen
            }
            if openAlready { continuation.resume() }
        }
    }
}
