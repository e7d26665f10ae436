import Foundation
public import Logging
import PostgresNIO
public import PostgresSupport

/// The meeting place of pods that share one API key, in the PostgreSQL ledger's
/// database: one row per key (the rate factor its 429s left) and one lease per pod and
/// key (its demand, until `expires_at`). Every exchange is one transaction that takes the
/// key's row lock, so pods take turns and the database's clock is the only one used (pod
/// clocks may disagree).
///
/// Tables (created if missing, in the ledger's schema): `request_budget_keys (key_id,
/// rate_factor, cut_at)` and `request_budget_leases (key_id, pod_id, polls, creates,
/// expires_at)`. `key_id` is a hash of the API key (the caller's), never the key.
public final class PostgresRequestBudget: Sendable {
    /// One pod's lease as stored: demand in requests per second.
    public struct Lease: Sendable, Hashable {
        public var pod: String
        public var polls: Double
        public var creates: Double

        public init(pod: String, polls: Double, creates: Double) {
            self.pod = pod
            self.polls = polls
            self.creates = creates
        }
    }

    /// What an exchange answers.
    public struct KeyState: Sendable, Hashable {
        /// Live leases (expired ones are deleted first), this pod's included.
        public var leases: [Lease]
        /// The factor as stored after the last cut (recover it with `secondsSinceCut`).
        public var rateFactor: Double
        /// Seconds since the last cut by the database's clock; nil: never cut.
        public var secondsSinceCut: Double?
    }

    /// How a 429 cuts the key's factor and how it recovers (the same rule the caller
    /// applies to `secondsSinceCut`).
    public struct CutRule: Sendable, Hashable {
        public var factor: Double
        public var minimumFactor: Double
        public var recoveryStep: Double
        public var recoveryIntervalSeconds: Double
        /// At most one cut per this many seconds, cluster-wide: the 429s answering
        /// requests sent before the first cut arrive together and count once.
        public var cooldownSeconds: Double

        public init(
            factor: Double = 0.5, minimumFactor: Double = 0.05, recoveryStep: Double = 0.1, recoveryIntervalSeconds: Double = 5,
            cooldownSeconds: Double = 1
        ) {
            self.factor = factor
            self.minimumFactor = minimumFactor
            self.recoveryStep = recoveryStep
            self.recoveryIntervalSeconds = recoveryIntervalSeconds
            self.cooldownSeconds = cooldownSeconds
        }
    }

    /// The tables' versions (``PostgresPool/migrate(component:migrations:legacyVersionTable:timeout:)``).
    /// Version 1 takes over tables made before versions were recorded.
    static let migrations: [PostgresMigration] = [
        (
            1,
            [
                """
                CREATE TABLE IF NOT EXISTS SCHEMA.request_budget_keys (
                    key_id TEXT NOT NULL PRIMARY KEY,
                    rate_factor DOUBLE PRECISION NOT NULL DEFAULT 1,
                    cut_at TIMESTAMPTZ,
                    next_slot_at TIMESTAMPTZ
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS SCHEMA.request_budget_leases (
                    key_id TEXT NOT NULL,
                    pod_id TEXT NOT NULL,
                    polls DOUBLE PRECISION NOT NULL,
                    creates DOUBLE PRECISION NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (key_id, pod_id)
                )
                """,
            ]
        ),
    ]

    private let handle: PostgresPoolHandle
    private let keys: String
    private let leases: String

    /// Opens the budget on the process's pool (closed by its owner, after the budget) and
    /// creates the tables if missing. Call `close()` when done.
    public convenience init(pool: PostgresPool) async throws {
        try await self.init(handle: .shared(pool))
    }

    /// Opens the budget on a pool of its own, closed with the budget.
    public convenience init(options: PostgresConnectionOptions, logger: Logger = Logger(label: "ocr-worker.budget")) async throws {
        try await self.init(handle: .ledgerOwn(options: options, logger: logger))
    }

    private init(handle: PostgresPoolHandle) async throws {
        self.handle = handle
        keys = "\(handle.options.quotedSchema).request_budget_keys"
        leases = "\(handle.options.quotedSchema).request_budget_leases"
        do {
            try await handle.migrate(component: "request_budget", migrations: Self.migrations)
        } catch {
            throw LedgerError.postgres("could not open the shared request budget", error)
        }
    }

    /// Renews `pod`'s lease on `keyID` for `ttl` with its demand, applies a 429 when
    /// `throttled` (at most one cut per `rule.cooldownSeconds` for the key), drops
    /// expired leases, and answers the key's state.
    public func exchange(keyID: String, lease: Lease, ttl: Duration, throttled: Bool, rule: CutRule = CutRule()) async throws -> KeyState {
        if handle.isClosed { throw LedgerError.closed }
        let ttlSeconds = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
        let (keys, leases) = (keys, leases)
        do {
            return try await handle.pool.withTransaction { connection, logger in
                try await connection.query(
                    "INSERT INTO \(unescaped: keys) (key_id) VALUES (\(keyID)) ON CONFLICT (key_id) DO NOTHING", logger: logger)
                // The row lock: exchanges of one key take turns.
                try await connection.query("SELECT 1 FROM \(unescaped: keys) WHERE key_id = \(keyID) FOR UPDATE", logger: logger)
                if throttled {
                    try await connection.query(
                        """
                        UPDATE \(unescaped: keys) SET cut_at = now(), rate_factor = GREATEST(\(rule.minimumFactor), \(rule.factor) * LEAST(1,
                            rate_factor + COALESCE(\(rule.recoveryStep) * floor(extract(epoch FROM now() - cut_at) / \(rule.recoveryIntervalSeconds)), 0)))
                        WHERE key_id = \(keyID) AND (cut_at IS NULL OR cut_at < now() - make_interval(secs => \(rule.cooldownSeconds)))
                        """, logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO \(unescaped: leases) (key_id, pod_id, polls, creates, expires_at)
                    VALUES (\(keyID), \(lease.pod), \(lease.polls), \(lease.creates), now() + make_interval(secs => \(ttlSeconds)))
                    ON CONFLICT (key_id, pod_id) DO UPDATE SET polls = EXCLUDED.polls, creates = EXCLUDED.creates, expires_at = EXCLUDED.expires_at
                    """, logger: logger)
                try await connection.query(
                    "DELETE FROM \(unescaped: leases) WHERE key_id = \(keyID) AND expires_at < now()", logger: logger)
                var live: [Lease] = []
                for try await (pod, polls, creates) in try await connection.query(
                    "SELECT pod_id, polls, creates FROM \(unescaped: leases) WHERE key_id = \(keyID) ORDER BY pod_id", logger: logger
                ).decode((String, Double, Double).self) {
                    live.append(Lease(pod: pod, polls: polls, creates: creates))
                }
                var state = KeyState(leases: live, rateFactor: 1, secondsSinceCut: nil)
                for try await (factor, since) in try await connection.query(
                    "SELECT rate_factor, extract(epoch FROM now() - cut_at)::double precision FROM \(unescaped: keys) WHERE key_id = \(keyID)",
                    logger: logger
                ).decode((Double, Double?).self) {
                    state.rateFactor = factor
                    state.secondsSinceCut = since
                }
                return state
            }
        } catch {
            throw LedgerError.postgres("shared request budget", error)
        }
    }

    /// Takes the key's next send slot (`spacing` after the previous one, never in the
    /// past, by the database's clock) and answers the seconds from now until it; nil
    /// when `createHorizonSeconds` is set and the key is booked further ahead than that.
    public func takeSlot(keyID: String, spacingSeconds: Double, createHorizonSeconds: Double?) async throws -> Double? {
        let horizon = createHorizonSeconds ?? 1e9
        if handle.isClosed { throw LedgerError.closed }
        let keys = keys
        do {
            return try await handle.pool.withConnection { connection, logger in
            for attempt in 0..<2 {
                var delay: Double?
                for try await seconds in try await connection.query(
                    """
                    UPDATE \(unescaped: keys)
                    SET next_slot_at = GREATEST(COALESCE(next_slot_at, now()), now()) + make_interval(secs => \(spacingSeconds))
                    WHERE key_id = \(keyID)
                        AND COALESCE(next_slot_at, now()) <= now() + make_interval(secs => \(horizon))
                    RETURNING extract(epoch FROM next_slot_at - now())::double precision - \(spacingSeconds)
                    """, logger: logger
                ).decode(Double.self) {
                    delay = max(0, seconds)
                }
                if let delay { return delay }
                // No row: a key never seen; create it and try once more. A row that did
                // not match is a busy key for a create.
                guard attempt == 0 else { return nil }
                var inserted = false
                for try await _ in try await connection.query(
                    "INSERT INTO \(unescaped: keys) (key_id) VALUES (\(keyID)) ON CONFLICT (key_id) DO NOTHING RETURNING 1", logger: logger
                ).decode(Int.self) {
                    inserted = true
                }
                if !inserted { return nil }
            }
            return nil
            }
        } catch {
            throw LedgerError.postgres("shared request budget", error)
        }
    }

    public func close() async {
        await handle.close()
    }
}
