import Foundation
import JobCore
import Logging
import PostgresSupport

// What both implementations share: the transition table (checked in SQL by each), the
// timestamp representation and the error mapping.

/// The protocol's write operations and the states each one is allowed from. Both
/// implementations put `allowedFrom` into the `WHERE` clause of one `UPDATE`, so the
/// check and the write are a single atomic step in the database.
enum LedgerOperation: String, Sendable, CaseIterable {
    case markCreating, claimCreate, renewCreateClaim, recordTask, recordPolls, complete, fail, markPublished, reopen

    var allowedFrom: [JobState] {
        switch self {
        case .markCreating, .claimCreate: [.accepted, .creating, .submitted]
        case .recordTask, .renewCreateClaim: [.creating]
        case .recordPolls: [.accepted, .creating, .submitted, .completed]
        case .complete: [.submitted]
        case .fail: [.accepted, .creating, .submitted, .completed]
        case .markPublished: [.completed, .failed]
        case .reopen: [.failed]
        }
    }

    /// `state IN ('a', 'b')`: the literals are the enum's raw values, never input.
    var stateCondition: String {
        "state IN (" + allowedFrom.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    }
}

/// The SQL `CHECK` list of every state.
let allStatesSQL = JobState.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")

/// The columns every `RETURNING` and `SELECT` reads, in `JobRecord` order.
let recordColumns = """
    job_id, fingerprint, state, task_id, create_attempts, poll_attempts, result_message, \
    first_seen_at, updated_at, published_at
    """

/// Timestamps are kept in UTC with millisecond precision: SQLite stores the integer
/// milliseconds since 1970, PostgreSQL a `timestamptz` of the same instant. Every date
/// going in or coming out is rounded to the millisecond, so both backends return equal
/// records for equal input.
///
/// Dates are clamped to years 0001-9999 on the way in (NaN to the epoch): PostgresNIO
/// converts a `Date` to microseconds with an unchecked `Int64(...)`, and no millisecond
/// count fits every `Date`, so an absurd date (from a clock fault or an outside value)
/// must never reach either conversion.
enum Millis {
    /// 0001-01-01T00:00:00.000Z ... 9999-12-31T23:59:59.999Z.
    static let range: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    static func from(_ date: Date) -> Int64 {
        let scaled = (date.timeIntervalSince1970 * 1000).rounded()
        if scaled.isNaN { return 0 }
        guard let millis = Int64(exactly: scaled) else { return scaled < 0 ? range.lowerBound : range.upperBound }
        return min(max(millis, range.lowerBound), range.upperBound)
    }

    static func date(_ millis: Int64) -> Date {
        Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    static func round(_ date: Date) -> Date {
        self.date(from(date))
    }
}

extension LedgerError {
    static func notFound(_ jobID: String, _ operation: LedgerOperation) -> LedgerError {
        LedgerError(code: .notFound, jobID: jobID, message: "\(operation.rawValue): no such job")
    }

    static func refused(_ jobID: String, _ operation: LedgerOperation, state: JobState) -> LedgerError {
        LedgerError(
            code: .invalidTransition, jobID: jobID,
            message: "\(operation.rawValue) is not allowed in state \(state.rawValue)"
                + " (allowed from: \(operation.allowedFrom.map(\.rawValue).joined(separator: ", ")))"
        )
    }

    static let closed = LedgerError(code: .unavailable, message: "the ledger is closed")
}

/// The outcome of a refused `UPDATE`: the row is missing, it is in a state the
/// operation is not allowed from, or (claimCreate, renewCreateClaim) another writer
/// claimed it first.
/// `polls` checked for a write that adds it to `poll_attempts`.
func pollsToAdd(_ polls: Int, _ jobID: String) throws(LedgerError) -> Int {
    guard polls >= 0 else {
        throw LedgerError(code: .invalidTransition, jobID: jobID, message: "negative poll count \(polls)")
    }
    return polls
}

func refusal(_ jobID: String, _ operation: LedgerOperation, current: JobRecord?) -> LedgerError {
    guard let current else { return .notFound(jobID, operation) }
    guard operation.allowedFrom.contains(current.state) else {
        return .refused(jobID, operation, state: current.state)
    }
    return LedgerError(
        code: .invalidTransition, jobID: jobID,
        message: "\(operation.rawValue): another writer got there first"
            + " (state \(current.state.rawValue), createAttempts \(current.createAttempts))")
}

extension LedgerError {
    /// A PostgreSQL failure of `what`, in words that never hold the password.
    static func postgres(_ what: String, _ error: any Error) -> LedgerError {
        LedgerError(code: .unavailable, message: "\(what): \(PostgresPoolError.describe(error).prefix(200))")
    }
}

extension PostgresPoolHandle {
    /// A pool of a PostgreSQL store's own; options it cannot use are a ledger
    /// configuration error.
    static func ledgerOwn(options: PostgresConnectionOptions, logger: Logger) throws(LedgerError) -> PostgresPoolHandle {
        do {
            return try .own(options: options, logger: logger)
        } catch {
            throw LedgerConfiguration.invalid(error.reason)
        }
    }
}
