public import Foundation

/// Where a job stands. Transitions (anything else is refused by the ledger):
///
///     accepted -> creating -> submitted -> completed -> published
///        |           |  ^         |
///        |           |  +---------+  (re-create: provider lost the task, or -1/-2/-8)
///        +-----------+------------+--> failed   (terminal; the failure is stored)
///
///     failed -> accepted   (reopen, dead-letter replay: `ocr-worker dlq replay`)
///
/// `failed` is terminal for the worker; only an operator's replay of the dead letter
/// (``JobLedger/reopen(jobID:fingerprint:at:)``) takes a job out of it, back to the start.
///
/// `creating` is written *before* the provider's create call and `submitted` (with the
/// task id) right after it, so a job found in `submitted` is resumed by polling its task,
/// never created again. A job found in `creating` is inside a create call, whose driver
/// renews the claim (``JobLedger/renewCreateClaim(jobID:createAttempts:at:)``) until the
/// task id is recorded; a claim that stopped being renewed was left by a crash inside the
/// create call: the one window where a second task can be created (counted by
/// `createAttempts`).
public enum JobState: String, Sendable, Hashable, Codable, CaseIterable {
    case accepted, creating, submitted, completed, published, failed
}

/// The ledger's row for one job.
public struct JobRecord: Sendable, Hashable {
    public var jobID: String
    /// SHA-256 (hex) of the job's canonical payload. A job id seen again with another
    /// fingerprint is a different payload: the first one wins.
    public var fingerprint: String
    public var state: JobState
    public var taskID: String?
    /// Create calls started (including re-creates).
    public var createAttempts: Int
    /// Poll calls made.
    public var pollAttempts: Int
    /// The exact result message (value bytes) to publish for this job, once it is
    /// completed or failed. Republishing sends these same bytes.
    public var resultMessage: [UInt8]?
    public var firstSeenAt: Date
    public var updatedAt: Date
    /// When the result (and, for a failure, the dead letter) was published.
    public var publishedAt: Date?
    /// For a row in `creating`: how long before this read the create claim was taken or
    /// last renewed, measured by the ledger's own clock. A ledger shared by several pods
    /// (PostgreSQL) sets it, so that whether a claim is stale (a crash's) is judged by one
    /// clock, the database's, and never by comparing one pod's clock with another's
    /// `updatedAt`: a pod whose clock runs ahead would otherwise take over a live claim
    /// and create a second task. `nil` from a ledger local to one process (SQLite), where
    /// the writer's clock is the reader's: the reader then compares `updatedAt` with its
    /// own clock. Equality and hashing leave it out: it is a measurement taken at the read,
    /// and two reads of an unchanged row are the same row.
    public var claimAge: TimeInterval?

    public init(
        jobID: String, fingerprint: String, state: JobState, taskID: String? = nil,
        createAttempts: Int = 0, pollAttempts: Int = 0, resultMessage: [UInt8]? = nil,
        firstSeenAt: Date, updatedAt: Date, publishedAt: Date? = nil, claimAge: TimeInterval? = nil
    ) {
        self.jobID = jobID
        self.fingerprint = fingerprint
        self.state = state
        self.taskID = taskID
        self.createAttempts = createAttempts
        self.pollAttempts = pollAttempts
        self.resultMessage = resultMessage
        self.firstSeenAt = firstSeenAt
        self.updatedAt = updatedAt
        self.publishedAt = publishedAt
        self.claimAge = claimAge
    }

    public static func == (a: JobRecord, b: JobRecord) -> Bool {
        a.jobID == b.jobID && a.fingerprint == b.fingerprint && a.state == b.state && a.taskID == b.taskID
            && a.createAttempts == b.createAttempts && a.pollAttempts == b.pollAttempts
            && a.resultMessage == b.resultMessage && a.firstSeenAt == b.firstSeenAt && a.updatedAt == b.updatedAt
            && a.publishedAt == b.publishedAt
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(jobID)
        hasher.combine(fingerprint)
        hasher.combine(state)
        hasher.combine(taskID)
        hasher.combine(createAttempts)
        hasher.combine(pollAttempts)
        hasher.combine(resultMessage)
        hasher.combine(firstSeenAt)
        hasher.combine(updatedAt)
        hasher.combine(publishedAt)
    }
}

/// Idempotent job tracking, shared by every worker pod of a deployment (PostgreSQL) or
/// local to one (SQLite). Every method is one atomic transaction; a transition from a
/// state that does not allow it throws ``LedgerError`` with code `.invalidTransition`
/// and leaves the row unchanged; an unknown job id throws `.notFound`; a database that
/// cannot be reached throws `.unavailable`. Dates are stored in UTC and come back rounded
/// to the millisecond.
///
/// The port the job engine keeps its rows through. Implementations live in the `Ledger`
/// target (`SQLiteJobLedger`, `PostgresJobLedger`; `makeLedger(_:logger:)` opens either
/// from a `LedgerConfiguration`).
public protocol JobLedger: Sendable {
    /// Registers a job seen for the first time (state `accepted`), or returns the row that
    /// exists. `isNew` tells which; an existing row is never modified here.
    func accept(jobID: String, fingerprint: String, at: Date) async throws -> (record: JobRecord, isNew: Bool)

    /// Records the intent to create a provider task: state `creating`, `createAttempts`
    /// + 1, task id cleared. Allowed from `accepted`, `creating` (a crash or retry inside
    /// the create) and `submitted` (re-create).
    func markCreating(jobID: String, at: Date) async throws -> JobRecord

    /// `markCreating` as a compare-and-set: only when the row's `createAttempts` still
    /// equals `expectedCreateAttempts` (the value the caller read). Of two pods racing to
    /// create the same job's task, exactly one wins; the other gets `.invalidTransition`
    /// and should re-read the row (and resume polling once it is `submitted`).
    ///
    /// Added after the first version of this protocol, with a default built on
    /// `record` + `markCreating` (not atomic) so that other conformers keep compiling;
    /// ``SQLiteJobLedger`` and ``PostgresJobLedger`` implement it in one `UPDATE`.
    func claimCreate(jobID: String, expectedCreateAttempts: Int, at: Date) async throws -> JobRecord

    /// Keeps a create claim alive while its create call runs: sets `updatedAt` when the
    /// row is still `creating` with `createAttempts == createAttempts` (the count the
    /// caller's ``claimCreate(jobID:expectedCreateAttempts:at:)`` returned). Throws
    /// `.invalidTransition` when the claim is no longer the caller's.
    ///
    /// Why: a job found in `creating` is either inside another driver's create call (a
    /// rebalance overlap: the previous owner's create runs to completion) or left there
    /// by a crash. Only a claim whose `updatedAt` stopped moving is a crash's; the worker
    /// waits for a live one to record its task instead of creating a second one.
    ///
    /// Deliberately without a default implementation: the check and the write must be
    /// one `UPDATE`.
    func renewCreateClaim(jobID: String, createAttempts: Int, at: Date) async throws

    /// Records the provider's task id: `creating` -> `submitted`, only while the row's
    /// `createAttempts` is still the caller's claim (`createAttempts`, what
    /// ``claimCreate(jobID:expectedCreateAttempts:at:)`` or ``markCreating(jobID:at:)``
    /// returned). Durable when it returns, also across a power loss: this row is all that
    /// stops a redelivery from creating a second task.
    ///
    /// The claim check fences a stale driver out: a pod whose claim was taken over while
    /// it could not reach the ledger (its renewals stopped) must not overwrite the task
    /// the new claim's holder created; its write is refused with `.invalidTransition`,
    /// and its own task is the one that is lost (counted, never polled).
    func recordTask(jobID: String, taskID: String, createAttempts: Int, at: Date) async throws -> JobRecord

    /// Adds `count` poll calls to `pollAttempts`. Allowed in `accepted`, `creating`,
    /// `submitted` and `completed` (polls counted just before completing may be flushed
    /// after it); refused in `published` and `failed`, and for a negative `count`.
    func recordPolls(jobID: String, count: Int, at: Date) async throws

    /// Stores the success result: `submitted` -> `completed`, adding `polls` (>= 0) to
    /// `pollAttempts` in the same write: the runner keeps poll counts in memory and
    /// writes them with the result instead of once per poll.
    func complete(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord

    /// Stores the failure result: any state but `published` and `failed` -> `failed`, adding
    /// `polls` (>= 0) to `pollAttempts` in the same write.
    func fail(jobID: String, resultMessage: [UInt8], polls: Int, at: Date) async throws -> JobRecord

    /// Reopens a dead-lettered job for replay (`ocr-worker dlq replay`): `failed` ->
    /// `accepted`, with `fingerprint` (the replayed payload's) replacing the stored one;
    /// `taskID`, `resultMessage` and `publishedAt` are cleared. `createAttempts`,
    /// `pollAttempts` and `firstSeenAt` are kept, so the counters go on telling what the
    /// job cost over all its runs. Allowed only from `failed`.
    ///
    /// Deliberately without a default implementation: check and write must be one
    /// `UPDATE`, or two replays of the same dead letter could both reopen the job.
    func reopen(jobID: String, fingerprint: String, at: Date) async throws -> JobRecord

    /// Records that the stored result went out: `completed` -> `published`; for `failed`
    /// it sets `publishedAt` and keeps the state (again for a republished failure: the
    /// first `publishedAt` is kept). Refused in `published`: republishing a published
    /// job's stored bytes needs no ledger write.
    func markPublished(jobID: String, at: Date) async throws -> JobRecord

    /// The row, or nil.
    func record(jobID: String) async throws -> JobRecord?

    /// Number of rows per state (for metrics and `ocr-worker ledger stats`); every state
    /// is present, with 0 when it has no rows.
    func countByState() async throws -> [JobState: Int]

    /// Cheap round trip for readiness checks (bounded by the connect timeout for
    /// PostgreSQL).
    func ping() async throws

    /// Releases the database (connections, the pool's task). Idempotent; every call after
    /// it throws `.unavailable`.
    func close() async
}

extension JobLedger {
    /// Not atomic: a fallback for conformers (test doubles) that do not implement it.
    public func claimCreate(jobID: String, expectedCreateAttempts: Int, at: Date) async throws -> JobRecord {
        guard let current = try await record(jobID: jobID) else {
            throw LedgerError(code: .notFound, jobID: jobID, message: "claimCreate: no such job")
        }
        guard current.createAttempts == expectedCreateAttempts else {
            throw LedgerError(
                code: .invalidTransition, jobID: jobID,
                message: "claimCreate: createAttempts is \(current.createAttempts), expected \(expectedCreateAttempts)")
        }
        return try await markCreating(jobID: jobID, at: at)
    }
}

/// A ledger failure with a code and the job it concerns.
public struct LedgerError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case notFound
        case invalidTransition
        case unavailable
        case corrupt
    }

    public var code: Code
    public var jobID: String?
    public var message: String

    public init(code: Code, jobID: String? = nil, message: String) {
        self.code = code
        self.jobID = jobID
        self.message = message
    }

    public var description: String {
        "ledger \(code.rawValue)" + (jobID.map { " (job \($0))" } ?? "") + ": \(message)"
    }
}

extension JobLedger {
    /// ``complete(jobID:resultMessage:polls:at:)`` without polls to add.
    public func complete(jobID: String, resultMessage: [UInt8], at: Date) async throws -> JobRecord {
        try await complete(jobID: jobID, resultMessage: resultMessage, polls: 0, at: at)
    }

    /// ``fail(jobID:resultMessage:polls:at:)`` without polls to add.
    public func fail(jobID: String, resultMessage: [UInt8], at: Date) async throws -> JobRecord {
        try await fail(jobID: jobID, resultMessage: resultMessage, polls: 0, at: at)
    }
}

extension JobState {
    /// Nothing left to do but (re)publish the stored result.
    public var isSettled: Bool { self == .completed || self == .published || self == .failed }
}
