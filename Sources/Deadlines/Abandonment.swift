import Synchronization

/// What an operation run by ``Deadline/run(within:clock:_:late:)`` holds that must be let
/// go the moment its caller stops waiting: ``hold(_:)`` registers the cleanup for it
/// (closing the connection the operation is using, say) and `hold(nil)` clears it once the
/// operation let go by itself. The cleanup runs once, outside any lock: when the caller
/// stops waiting, or at once when it registers after that.
///
/// The caller stops waiting when the race ends, whatever ended it; by then an operation
/// that finished by itself has cleared its hold, so only an operation still running past
/// the deadline or the caller's cancellation has its cleanup run.
public final class Abandonment: Sendable {
    private struct State {
        var abandoned = false
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    init() {}

    /// Whether the caller stopped waiting.
    public var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// Sets (or, with nil, clears) the cleanup for what the operation holds now.
    public func hold(_ cleanup: (@Sendable () -> Void)?) {
        let runNow = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.abandoned else { return cleanup }
            state.cleanup = cleanup
            return nil
        }
        runNow?()
    }

    func abandon() {
        let cleanup = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.abandoned else { return nil }
            state.abandoned = true
            defer { state.cleanup = nil }
            return state.cleanup
        }
        cleanup?()
    }
}
