/// Where the worker keeps its learned durations across restarts (``DurationModel``'s
/// snapshot: a name and a JSON document per entry, scoped by provider). The ledger's
/// database holds them: `SQLiteDurationStore` and `PostgresDurationStore`.
public protocol DurationModelStore: Sendable {
    /// The stored entries of `provider`: name to payload.
    func loadDurations(provider: String) async throws -> [String: String]
    /// Writes `entries` of `provider`, replacing entries of the same names.
    func saveDurations(provider: String, entries: [String: String]) async throws
    func close() async
}
