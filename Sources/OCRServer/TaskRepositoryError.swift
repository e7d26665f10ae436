/// A failure of the task store. Its description names what failed, never a record's
/// contents beyond its id.
enum TaskRepositoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store could not be opened, read or written.
    case unavailable(String)
    /// A record exists but does not read back as a task (a damaged or foreign row).
    case corruptRecord(id: String, reason: String)
    /// ``TaskRepository/insert(_:)`` of an id that exists.
    case duplicate(String)
    /// A shared store refused a new task: the server's or the key's limit of pending
    /// tasks is reached (``SharedTaskRepository/insert(_:maxPending:maxPendingPerOwner:)``).
    case refused(TaskStore.Refusal)

    var description: String {
        switch self {
        case .unavailable(let reason): "task store unavailable: \(reason)"
        case .corruptRecord(let id, let reason): "task record \(id) is unreadable: \(reason)"
        case .duplicate(let id): "task \(id) exists"
        case .refused(.server): "too many tasks pending"
        case .refused(.owner): "too many tasks pending for this key"
        }
    }
}
