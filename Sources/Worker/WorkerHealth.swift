import Synchronization

/// Whether this process can still do its work, for `/healthz` (liveness).
///
/// Set unhealthy by a failure no retry can fix inside the process: a fatal producer
/// error (librdkafka's idempotent producer lost its sequence). ``WorkerService`` then
/// ends the process with an error, so the orchestrator restarts the pod with a fresh
/// producer; until it exits, `/healthz` answers 503.
public final class WorkerHealth: Sendable {
    private let fatal = Mutex<String?>(nil)
    public init() {}

    /// The reason the process must restart, once one happened.
    public var fatalReason: String? { fatal.withLock { $0 } }
    public var isAlive: Bool { fatalReason == nil }

    public func markFatal(_ reason: String) {
        fatal.withLock { f in
            if f == nil { f = reason }
        }
    }
}
