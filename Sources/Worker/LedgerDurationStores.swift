public import Ledger
public import Logging
public import PollPlanning
public import PostgresSupport

/// The SQLite ledger's file as the store of learned durations.
extension SQLiteDurationStore: DurationModelStore {}

/// The PostgreSQL ledger's database as the store of learned durations.
extension PostgresDurationStore: DurationModelStore {}

extension WorkerService {
    /// The store of learned durations in the ledger's database (on `pool`, the
    /// process's pool, for a postgres ledger; a pool of its own without it); nil for an
    /// in-memory ledger (nothing outlives it there), or when it cannot be opened (logged:
    /// the pod then learns from a cold start, as without a store).
    public static func openDurationStore(
        ledger: LedgerConfiguration, pool: PostgresPool? = nil, logger: Logger
    ) async -> (any DurationModelStore)? {
        do {
            switch ledger.backend {
            case .sqliteFile(let path): return try await SQLiteDurationStore(path: path, logger: logger)
            case .postgres(let options):
                if let pool { return try await PostgresDurationStore(pool: pool) }
                return try await PostgresDurationStore(options: options, logger: logger)
            case .sqliteInMemory: return nil
            }
        } catch {
            logger.warning(
                "poll planner: the store of learned durations cannot be opened; learning from a cold start",
                metadata: [
                    "error": "\(String(describing: error).prefix(200))"
                ])
            return nil
        }
    }
}
