/// The order in which queued requests get budget tokens. Work on tasks that already exist
/// (polls and result downloads) goes before new tasks: a created task costs polls until it
/// ends, so starting new work while existing work starves only grows the backlog and lets
/// result URLs expire.
public enum RequestPriority: Int, Sendable, Hashable, Comparable, CaseIterable {
    /// Polls and downloads of existing tasks.
    case existingTask = 0
    /// Creates of new tasks.
    case newTask = 1

    public static func < (lhs: RequestPriority, rhs: RequestPriority) -> Bool { lhs.rawValue < rhs.rawValue }
}
