import Foundation

/// One outcome of a call, as the mapping to a ``CallerAction`` needs it: the HTTP status
/// (or the envelope's `status` when HTTP said 200 but the body did not), the task state of
/// a successful query, or the transport failure when no usable reply came.
public enum TaskOutcome: Sendable, Hashable {
    /// A reply with a non-success status. `retryAfter` is the parsed `Retry-After`.
    case http(status: Int, endpoint: TaskEndpoint, retryAfter: Duration? = nil)
    /// A successful create (HTTP 200 and a `task_id`).
    case created
    /// A successful query with this state.
    case task(TaskState)
    /// A successful download of the result file (or of the source).
    case downloaded
    /// No usable reply.
    case transport(TransportFailure, endpoint: TaskEndpoint)
}
