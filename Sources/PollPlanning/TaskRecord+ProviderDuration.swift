public import OCRTaskAPI

extension TaskRecord {
    /// `completed_at - created_at` when the provider sent both in order (whole seconds:
    /// the true duration is within a second either way).
    public var providerDuration: Duration? {
        guard let created = createdAt?.seconds, let completed = completedAt?.seconds, completed >= created,
            completed - created < 7 * 86_400
        else { return nil }
        return .seconds(completed - created)
    }
}
