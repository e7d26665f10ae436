import Foundation
import OCRTaskAPI

/// A task as the server keeps it, in its ``TaskRepository``.
struct StoredTask: Sendable, Equatable {
    var id: String
    /// Who created it: the hex SHA-256 of the creating API key (``APIKeyRing/ownerID(of:)``),
    /// so ownership survives a restart with the keys reordered or one removed; other keys
    /// get 404. Never the key itself.
    var owner: String
    var state: TaskState
    var progress: Int
    var format: OutputFormat
    var createdAt: Date
    var processedAt: Date?
    var completedAt: Date?
    var detail: String?
    /// Name of the result under `results/` once done.
    var resultName: String?
    /// When the result link expires and the task is swept.
    var expiresAt: Date?
    /// Runs started and not ended: by a crash or kill of the process running it, or a lost
    /// lease (``ServerCore/startAttempt(_:)``). A drain's hand-back gives its start back.
    var attempts = 0

    func record(link: (String, Date) -> String?) -> TaskRecord {
        TaskRecord(
            taskID: id, state: state, progress: progress,
            file: resultName.flatMap { name in expiresAt.flatMap { link(name, $0) } },
            createdAt: UnixTimestamp(createdAt), processedAt: processedAt.map(UnixTimestamp.init),
            completedAt: completedAt.map(UnixTimestamp.init), stateDetail: detail)
    }

    /// When a finished task is swept: its link's expiry, else `retention` after it ended.
    func sweepTime(retention: TimeInterval) -> Date {
        expiresAt ?? (completedAt ?? createdAt).addingTimeInterval(retention)
    }
}
