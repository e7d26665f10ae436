import Foundation
import JobCore
public import Logging
import PostgresNIO
public import PostgresSupport

/// The meeting place of pods that share one API key, in the PostgreSQL ledger's
/// database: one row per key (the rate factor its 429s left, its latest send slot) and
/// one lease per pod and key (its demand, until `expires_at`). Every call is one
/// statement (two for a busy slot: the second only reads), so the key's row lock never
/// outlives a statement: pods take turns on it, and a pod that stalls holds nothing. The
/// database's clock is the only one used (pod clocks may disagree).
///
/// Tables (in the ledger's schema): `request_budget_keys (key_id, rate_factor, cut_at,
/// last_slot_us, previous_slot_us)` and `request_budget_leases (key_id, pod_id, polls,
/// creates, expires_at)`. `key_id` is a hash of the API key (the caller's), never the
/// key. (`next_slot_at`, the slot column of step 1, is no longer written.)
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
        (
            2,
            [
                // Send slots as the key's latest booked one (and the one before, which a
                // release restores), in microseconds on the database's clock.
                "ALTER TABLE SCHEMA.request_budget_keys ADD COLUMN IF NOT EXISTS last_slot_us BIGINT",
                "ALTER TABLE SCHEMA.request_budget_keys ADD COLUMN IF NOT EXISTS previous_slot_us BIGINT",
            ]
        ),
    ]

    private let handle: PostgresPoolHandle
    private let keys: String
    private let leases: String
    /// The bound on each call, on the client's side: short, because a caller that waits
    /// for the budget holds a provider request back, and a call past it is abandoned
    /// anyway (``PostgresPool`` closes its connection).
    private let operationTimeout: Duration

    /// Opens the budget on the process's pool (closed by its owner, after the budget) and
    /// creates the tables if missing. Call `close()` when done.
    public convenience init(pool: PostgresPool, operationTimeout: Duration = .seconds(5)) async throws {
        try await self.init(handle: .shared(pool), operationTimeout: operationTimeout)
    }

    /// Opens the budget on a pool of its own, closed with the budget.
    public convenience init(
        options: PostgresConnectionOptions, operationTimeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "ocr-worker.budget")
    ) async throws {
        try await self.init(handle: .ledgerOwn(options: options, logger: logger), operationTimeout: operationTimeout)
    }

    private init(handle: PostgresPoolHandle, operationTimeout: Duration) async throws {
        self.handle = handle
        self.operationTimeout = operationTimeout
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
    /// expired leases, and answers the key's state: one statement, so the key's row lock
    /// lasts that statement only (a pod that stalls mid-exchange holds nothing).
    public func exchange(keyID: String, lease: Lease, ttl: Duration, throttled: Bool, rule: CutRule = CutRule()) async throws -> KeyState {
        if handle.isClosed { throw LedgerError.closed }
        let ttlSeconds = Self.seconds(ttl)
        // A cut applies when the key was never cut or its last cut is past the cool-down.
        let cutDue = "\(throttled) AND (k.cut_at IS NULL OR k.cut_at < now() - make_interval(secs => \(rule.cooldownSeconds)))"
        let query: PostgresQuery = """
            WITH key AS (
                INSERT INTO \(unescaped: keys) AS k (key_id, rate_factor, cut_at)
                VALUES (\(keyID), CASE WHEN \(throttled) THEN GREATEST(\(rule.minimumFactor), \(rule.factor)) ELSE 1 END,
                    CASE WHEN \(throttled) THEN now() END)
                ON CONFLICT (key_id) DO UPDATE SET
                    rate_factor = CASE WHEN \(unescaped: cutDue)
                        THEN GREATEST(\(rule.minimumFactor), \(rule.factor) * LEAST(1, k.rate_factor
                            + COALESCE(\(rule.recoveryStep) * floor(extract(epoch FROM now() - k.cut_at) / \(rule.recoveryIntervalSeconds)), 0)))
                        ELSE k.rate_factor END,
                    cut_at = CASE WHEN \(unescaped: cutDue) THEN now() ELSE k.cut_at END
                RETURNING rate_factor, extract(epoch FROM now() - cut_at)::double precision AS since
            ),
            own AS (
                INSERT INTO \(unescaped: leases) (key_id, pod_id, polls, creates, expires_at)
                VALUES (\(keyID), \(lease.pod), \(lease.polls), \(lease.creates), now() + make_interval(secs => \(ttlSeconds)))
                ON CONFLICT (key_id, pod_id) DO UPDATE SET polls = EXCLUDED.polls, creates = EXCLUDED.creates, expires_at = EXCLUDED.expires_at
                RETURNING pod_id, polls, creates
            ),
            expired AS (
                DELETE FROM \(unescaped: leases) WHERE key_id = \(keyID) AND pod_id <> \(lease.pod) AND expires_at < now()
            )
            SELECT key.rate_factor, key.since, live.pod_id, live.polls, live.creates
            FROM key, (
                SELECT pod_id, polls, creates FROM own
                UNION ALL
                SELECT pod_id, polls, creates FROM \(unescaped: leases)
                WHERE key_id = \(keyID) AND pod_id <> \(lease.pod) AND expires_at >= now()
            ) AS live
            ORDER BY live.pod_id
            """
        do {
            return try await handle.pool.withConnection(timeout: operationTimeout) { connection, logger in
                var state = KeyState(leases: [], rateFactor: 1, secondsSinceCut: nil)
                for try await (factor, since, pod, polls, creates) in try await connection.query(query, logger: logger)
                    .decode((Double, Double?, String, Double, Double).self)
                {
                    state.rateFactor = factor
                    state.secondsSinceCut = since
                    state.leases.append(Lease(pod: pod, polls: polls, creates: creates))
                }
                return state
            }
        } catch {
            throw LedgerError.postgres("shared request budget", error)
        }
    }

    /// A send slot a pod booked: microseconds on the database's clock, as the key's row
    /// keeps them, so that giving it back (``releaseSlot(keyID:_:)``) compares exactly.
    public struct BookedSlot: Sendable, Hashable {
        /// Seconds from the database's now until the slot (never negative).
        public var delaySeconds: Double
        public var slot: Int64
        /// The key's latest slot before this one; nil: none yet.
        public var previous: Int64?

        public init(delaySeconds: Double, slot: Int64, previous: Int64?) {
            self.delaySeconds = delaySeconds
            self.slot = slot
            self.previous = previous
        }
    }

    /// What ``takeSlot(keyID:spacingSeconds:horizonSeconds:)`` answers.
    public enum SlotResult: Sendable, Hashable {
        case booked(BookedSlot)
        /// The key is booked further ahead than the horizon: nothing was booked; asking
        /// again after this many seconds may succeed.
        case busy(retryInSeconds: Double)
    }

    /// The database's now in microseconds since 1970, in SQL.
    private static let nowMicros = "(extract(epoch FROM now()) * 1000000)::bigint"

    /// Books the key's next send slot: `spacingSeconds` after the key's latest one (the
    /// caller's spacing now, so a rate that recovers tightens the next slots at once),
    /// never in the past, by the database's clock; or nothing when that slot is further
    /// ahead than `horizonSeconds` (bookings stay within the horizon, so no pod waits
    /// long for a slot and an unused one costs little). One statement for the booking.
    public func takeSlot(keyID: String, spacingSeconds: Double, horizonSeconds: Double) async throws -> SlotResult {
        if handle.isClosed { throw LedgerError.closed }
        let spacing = Self.micros(spacingSeconds)
        let horizon = Self.micros(horizonSeconds)
        let (keys, now) = (keys, Self.nowMicros)
        do {
            return try await handle.pool.withConnection(timeout: operationTimeout) { connection, logger in
                for try await (slot, previous, at) in try await connection.query(
                    """
                    INSERT INTO \(unescaped: keys) AS k (key_id, last_slot_us) VALUES (\(keyID), \(unescaped: now))
                    ON CONFLICT (key_id) DO UPDATE
                    SET previous_slot_us = k.last_slot_us, last_slot_us = GREATEST(k.last_slot_us + \(spacing), \(unescaped: now))
                    WHERE k.last_slot_us IS NULL OR k.last_slot_us + \(spacing) <= \(unescaped: now) + \(horizon)
                    RETURNING last_slot_us, previous_slot_us, \(unescaped: now)
                    """, logger: logger
                ).decode((Int64, Int64?, Int64).self) {
                    return .booked(BookedSlot(delaySeconds: Double(max(0, slot &- at)) / 1e6, slot: slot, previous: previous))
                }
                // Busy: when the key's next slot comes within the horizon.
                var retry: Int64 = 0
                for try await wait in try await connection.query(
                    "SELECT last_slot_us + \(spacing) - \(horizon) - \(unescaped: now) FROM \(unescaped: keys) WHERE key_id = \(keyID)",
                    logger: logger
                ).decode(Int64?.self) {
                    retry = max(0, wait ?? 0)
                }
                return .busy(retryInSeconds: Double(retry) / 1e6)
            }
        } catch {
            throw LedgerError.postgres("shared request budget", error)
        }
    }

    /// Gives a booked slot back (its request will not be sent: its job ended) when it is
    /// still the key's latest: the key's next slot then goes where this one was. A slot
    /// with later ones booked after it stays booked (moving them is not possible; the
    /// horizon bounds what it costs). Answers whether it was given back.
    public func releaseSlot(keyID: String, _ booking: BookedSlot) async throws -> Bool {
        if handle.isClosed { throw LedgerError.closed }
        let keys = keys
        do {
            return try await handle.pool.withConnection(timeout: operationTimeout) { connection, logger in
                var released = false
                for try await _ in try await connection.query(
                    """
                    UPDATE \(unescaped: keys) SET last_slot_us = \(booking.previous)
                    WHERE key_id = \(keyID) AND last_slot_us = \(booking.slot)
                    RETURNING 1
                    """, logger: logger
                ).decode(Int.self) {
                    released = true
                }
                return released
            }
        } catch {
            throw LedgerError.postgres("shared request budget", error)
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Seconds as whole microseconds, within 0 ... a day (callers pass spacings and
    /// horizons of a few seconds; nothing from outside may overflow the conversion).
    private static func micros(_ seconds: Double) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Int64(min(seconds, 86_400) * 1e6)
    }

    public func close() async {
        await handle.close()
    }
}
