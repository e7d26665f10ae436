import Foundation
import JobCore
import Ledger
import TestSupport
import Testing

/// The protocol's write operations, with the states the protocol's documentation allows
/// each from and the state each leads to. Written from the documentation, not from the
/// implementation's table, so the two check each other.
enum Operation: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case markCreating, claimCreate, renewCreateClaim, recordTask, recordPolls, complete, fail, markPublished, reopen

    var testDescription: String { rawValue }

    /// The fingerprint `run` reopens with (the replayed payload's).
    static let replayedFingerprint = "fp-replayed"

    var allowedFrom: Set<JobState> {
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

    func target(from state: JobState) -> JobState {
        switch self {
        case .markCreating, .claimCreate: .creating
        case .recordTask: .submitted
        case .recordPolls, .renewCreateClaim: state
        case .complete: .completed
        case .fail: .failed
        case .markPublished: state == .completed ? .published : state
        case .reopen: .accepted
        }
    }

    /// `createAttempts`: what the caller last read (for claimCreate and renewCreateClaim).
    func run(_ ledger: any JobLedger, _ jobID: String, createAttempts: Int = 0, at date: Date) async throws {
        switch self {
        case .markCreating: _ = try await ledger.markCreating(jobID: jobID, at: date)
        case .claimCreate:
            _ = try await ledger.claimCreate(jobID: jobID, expectedCreateAttempts: createAttempts, at: date)
        case .renewCreateClaim: try await ledger.renewCreateClaim(jobID: jobID, createAttempts: createAttempts, at: date)
        case .recordTask: _ = try await ledger.recordTask(jobID: jobID, taskID: "task-new", createAttempts: createAttempts, at: date)
        case .recordPolls: try await ledger.recordPolls(jobID: jobID, count: 3, at: date)
        case .complete: _ = try await ledger.complete(jobID: jobID, resultMessage: [1, 2, 3], at: date)
        case .fail: _ = try await ledger.fail(jobID: jobID, resultMessage: [4, 5, 6], at: date)
        case .markPublished: _ = try await ledger.markPublished(jobID: jobID, at: date)
        case .reopen: _ = try await ledger.reopen(jobID: jobID, fingerprint: Self.replayedFingerprint, at: date)
        }
    }
}

@Suite("JobLedger contract (SQLite and PostgreSQL)", .tags(.postgres))
struct LedgerContractTests {
    @Test("accept registers a new job once; a second accept (other fingerprint) returns the original row", arguments: Backend.allCases)
    func acceptIsIdempotentAndFirstWins(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID()
            let first = try await ledger.accept(jobID: jobID, fingerprint: "aaaa", at: at(0))
            #expect(first.isNew)
            #expect(
                first.record
                    == JobRecord(
                        jobID: jobID, fingerprint: "aaaa", state: .accepted, taskID: nil, createAttempts: 0,
                        pollAttempts: 0, resultMessage: nil, firstSeenAt: stored(at(0)), updatedAt: stored(at(0)),
                        publishedAt: nil))

            let again = try await ledger.accept(jobID: jobID, fingerprint: "aaaa", at: at(5))
            #expect(!again.isNew)
            #expect(again.record == first.record)

            let other = try await ledger.accept(jobID: jobID, fingerprint: "bbbb", at: at(9))
            #expect(!other.isNew)
            #expect(other.record == first.record, "the first fingerprint wins and the row is untouched")

            // An existing row in a later state is returned as it is, never reset.
            _ = try await ledger.markCreating(jobID: jobID, at: at(10))
            let later = try await ledger.accept(jobID: jobID, fingerprint: "aaaa", at: at(11))
            #expect(!later.isNew)
            #expect(later.record.state == .creating)
            #expect(later.record.createAttempts == 1)
            #expect(try await ledger.record(jobID: jobID) == later.record)
        }
    }

    @Test("the normal path: accepted -> creating -> submitted -> completed -> published", arguments: Backend.allCases)
    func happyPath(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID()
            _ = try await ledger.accept(jobID: jobID, fingerprint: "fp", at: at(0))
            let creating = try await ledger.markCreating(jobID: jobID, at: at(1))
            #expect(creating.state == .creating)
            #expect(creating.createAttempts == 1)
            #expect(creating.taskID == nil)
            #expect(creating.updatedAt == stored(at(1)))
            #expect(creating.firstSeenAt == stored(at(0)))

            let submitted = try await ledger.recordTask(jobID: jobID, taskID: "task-42", createAttempts: creating.createAttempts, at: at(2))
            #expect(submitted.state == .submitted)
            #expect(submitted.taskID == "task-42")
            #expect(submitted.createAttempts == 1)

            try await ledger.recordPolls(jobID: jobID, count: 4, at: at(3))
            let completed = try await ledger.complete(jobID: jobID, resultMessage: allBytes, at: at(4))
            #expect(completed.state == .completed)
            #expect(completed.resultMessage == allBytes)
            #expect(completed.taskID == "task-42")
            #expect(completed.pollAttempts == 4)
            #expect(completed.publishedAt == nil)

            let published = try await ledger.markPublished(jobID: jobID, at: at(5))
            #expect(published.state == .published)
            #expect(published.publishedAt == stored(at(5)))
            #expect(published.updatedAt == stored(at(5)))
            #expect(published.resultMessage == allBytes)
            #expect(try await ledger.record(jobID: jobID) == published)
        }
    }

    @Test(
        "every operation from every state: allowed ones reach their state, refused ones throw invalidTransition and leave the row unchanged",
        arguments: Backend.allCases, Operation.allCases)
    func transitionMatrix(backend: Backend, operation: Operation) async throws {
        try await withLedger(backend) { ledger, _ in
            for state in JobState.allCases {
                let jobID = newJobID("\(operation.rawValue)-from-\(state.rawValue)")
                let before = try await bring(ledger, jobID, to: state)
                if operation.allowedFrom.contains(state) {
                    try await operation.run(ledger, jobID, createAttempts: before.createAttempts, at: at(100))
                    let after = try #require(try await ledger.record(jobID: jobID))
                    #expect(after.state == operation.target(from: state), "\(operation) from \(state)")
                    #expect(after.updatedAt == stored(at(100)), "\(operation) from \(state)")
                    #expect(after.firstSeenAt == before.firstSeenAt)
                    #expect(after.fingerprint == (operation == .reopen ? Operation.replayedFingerprint : before.fingerprint))
                } else {
                    await expectLedgerError(.invalidTransition, "\(operation) from \(state)") {
                        try await operation.run(ledger, jobID, createAttempts: before.createAttempts, at: at(100))
                    }
                    #expect(try await ledger.record(jobID: jobID) == before, "\(operation) from \(state) changed the row")
                }
            }
        }
    }

    @Test("re-create from submitted clears the task id and counts the attempt; the old task is replaced", arguments: Backend.allCases)
    func recreateFromSubmitted(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID()
            try await bring(ledger, jobID, to: .submitted)
            try await ledger.recordPolls(jobID: jobID, count: 2, at: at(5))
            let recreating = try await ledger.markCreating(jobID: jobID, at: at(6))
            #expect(recreating.state == .creating)
            #expect(recreating.taskID == nil)
            #expect(recreating.createAttempts == 2)
            #expect(recreating.pollAttempts == 2, "polls are kept across re-creates")

            // A crash inside the create call: markCreating again from creating.
            let retried = try await ledger.markCreating(jobID: jobID, at: at(7))
            #expect(retried.createAttempts == 3)
            let resubmitted = try await ledger.recordTask(jobID: jobID, taskID: "task-second", createAttempts: retried.createAttempts, at: at(8))
            #expect(resubmitted.state == .submitted)
            #expect(resubmitted.taskID == "task-second")
            #expect(resubmitted.createAttempts == 3)
        }
    }

    @Test("renewCreateClaim moves updatedAt only for the claim's own holder; a newer claim or a recorded task ends it", arguments: Backend.allCases)
    func renewCreateClaim(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID()
            let accepted = try await bring(ledger, jobID, to: .accepted)
            let mine = try await ledger.claimCreate(jobID: jobID, expectedCreateAttempts: accepted.createAttempts, at: at(1))
            try await ledger.renewCreateClaim(jobID: jobID, createAttempts: mine.createAttempts, at: at(2))
            let renewed = try #require(try await ledger.record(jobID: jobID))
            #expect(renewed.updatedAt == stored(at(2)))
            #expect(renewed.state == .creating && renewed.createAttempts == mine.createAttempts, "a renewal changes nothing else")

            // Another driver took the claim over (the first one looked crashed): the first
            // one's renewal is refused and the row keeps the newer claim's time.
            let theirs = try await ledger.claimCreate(jobID: jobID, expectedCreateAttempts: mine.createAttempts, at: at(3))
            await expectLedgerError(.invalidTransition, "renewal of a claim taken over") {
                try await ledger.renewCreateClaim(jobID: jobID, createAttempts: mine.createAttempts, at: at(4))
            }
            #expect(try await ledger.record(jobID: jobID)?.updatedAt == stored(at(3)))

            // The claim taken over fences its old holder out: its task id is refused...
            await expectLedgerError(.invalidTransition, "a stale claim's task id") {
                _ = try await ledger.recordTask(jobID: jobID, taskID: "task-stale", createAttempts: mine.createAttempts, at: at(4))
            }
            #expect(try await ledger.record(jobID: jobID)?.state == .creating)
            // ...and the holder's is stored. Once the task is recorded there is no claim
            // left to renew.
            _ = try await ledger.recordTask(jobID: jobID, taskID: "task-1", createAttempts: theirs.createAttempts, at: at(5))
            #expect(try await ledger.record(jobID: jobID)?.taskID == "task-1")
            await expectLedgerError(.invalidTransition, "renewal after recordTask") {
                try await ledger.renewCreateClaim(jobID: jobID, createAttempts: theirs.createAttempts, at: at(6))
            }
        }
    }

    @Test("a shared ledger measures a create claim's age by its own clock, whatever the writers' clocks say", arguments: Backend.allCases)
    func claimAgeByTheDatabaseClock(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID()
            let accepted = try await bring(ledger, jobID, to: .accepted)
            #expect(accepted.claimAge == nil, "no claim yet")
            // A pod whose clock is an hour behind takes the claim: by updatedAt it looks an
            // hour old; by the ledger's clock it was taken just now.
            let hourAgo = Date().addingTimeInterval(-3600)
            let claimed = try await ledger.claimCreate(jobID: jobID, expectedCreateAttempts: accepted.createAttempts, at: hourAgo)
            #expect(claimed.updatedAt == stored(hourAgo), "updatedAt stays the writer's time")
            let read = try #require(try await ledger.record(jobID: jobID))
            switch backend {
            case .sqlite:
                // One process: the writer's clock is the reader's; the reader judges updatedAt.
                #expect(claimed.claimAge == nil && read.claimAge == nil)
            case .postgres:
                let age = try #require(read.claimAge)
                #expect(age >= 0 && age < 60, "\(age)")
                #expect(try #require(claimed.claimAge) <= age, "the claim ages on the database's clock")
                // A renewal by a pod whose clock is an hour ahead restarts the age, by the
                // database's clock too.
                try await ledger.renewCreateClaim(jobID: jobID, createAttempts: claimed.createAttempts, at: Date().addingTimeInterval(3600))
                let renewed = try #require(try await ledger.record(jobID: jobID)?.claimAge)
                #expect(renewed >= 0 && renewed < 60, "\(renewed)")
            }
            let submitted = try await ledger.recordTask(jobID: jobID, taskID: "t", createAttempts: claimed.createAttempts, at: Date())
            #expect(submitted.claimAge == nil, "no claim once the task is recorded")
        }
    }

    @Test("recordPolls accumulates and is refused for unknown jobs and negative counts", arguments: Backend.allCases)
    func recordPollsAccumulates(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID()
            try await bring(ledger, jobID, to: .submitted)
            try await ledger.recordPolls(jobID: jobID, count: 1, at: at(10))
            try await ledger.recordPolls(jobID: jobID, count: 5, at: at(11))
            try await ledger.recordPolls(jobID: jobID, count: 0, at: at(12))
            try await ledger.recordPolls(jobID: jobID, count: 10_000, at: at(13))
            let record = try #require(try await ledger.record(jobID: jobID))
            #expect(record.pollAttempts == 10_006)
            #expect(record.updatedAt == stored(at(13)))
            await expectLedgerError(.notFound) { try await ledger.recordPolls(jobID: newJobID(), count: 1, at: at(14)) }
            await expectLedgerError(.invalidTransition) { try await ledger.recordPolls(jobID: jobID, count: -1, at: at(14)) }
            #expect(try await ledger.record(jobID: jobID) == record)
        }
    }

    @Test("complete and fail add the polls counted in memory in the same write; a negative count is refused", arguments: Backend.allCases)
    func settleWritesPolls(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let done = newJobID()
            try await bring(ledger, done, to: .submitted)
            try await ledger.recordPolls(jobID: done, count: 2, at: at(10))
            let completed = try await ledger.complete(jobID: done, resultMessage: Array("ok".utf8), polls: 5, at: at(11))
            #expect(completed.state == .completed)
            #expect(completed.pollAttempts == 7)

            let failed = newJobID()
            try await bring(ledger, failed, to: .submitted)
            await expectLedgerError(.invalidTransition) {
                _ = try await ledger.fail(jobID: failed, resultMessage: Array("no".utf8), polls: -1, at: at(12))
            }
            #expect(try await ledger.record(jobID: failed)?.state == .submitted)
            let record = try await ledger.fail(jobID: failed, resultMessage: Array("no".utf8), polls: 3, at: at(13))
            #expect(record.state == .failed)
            #expect(record.pollAttempts == 3)
        }
    }

    @Test("complete and fail store the exact bytes; markPublished sets publishedAt (and keeps failed failed)", arguments: Backend.allCases)
    func resultsAndPublication(backend: Backend) async throws {
        try await withLedger(backend) { ledger, harness in
            let done = newJobID("done")
            try await bring(ledger, done, to: .submitted)
            let completed = try await ledger.complete(jobID: done, resultMessage: allBytes, at: at(10))
            #expect(completed.resultMessage == allBytes)
            #expect(completed.publishedAt == nil)

            let failed = newJobID("failed")
            try await bring(ledger, failed, to: .creating)
            let failure = Array(#"{"job_id":"x","status":"failed","error":{"code":-7}}"#.utf8) + [0, 255, 0x80]
            let failedRecord = try await ledger.fail(jobID: failed, resultMessage: failure, at: at(11))
            #expect(failedRecord.state == .failed)
            #expect(failedRecord.resultMessage == failure)

            let empty = newJobID("empty")
            try await bring(ledger, empty, to: .submitted)
            #expect(
                try await ledger.complete(jobID: empty, resultMessage: [], at: at(12)).resultMessage == [],
                "an empty result is stored as empty bytes, not as no result")

            let big = newJobID("big")
            try await bring(ledger, big, to: .submitted)
            let bigMessage = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            _ = try await ledger.complete(jobID: big, resultMessage: bigMessage, at: at(13))

            let published = try await ledger.markPublished(jobID: done, at: at(20))
            #expect(published.state == .published)
            #expect(published.publishedAt == stored(at(20)))

            let failedPublished = try await ledger.markPublished(jobID: failed, at: at(21))
            #expect(failedPublished.state == .failed)
            #expect(failedPublished.publishedAt == stored(at(21)))
            // Republishing a failure is allowed and keeps the first publication time.
            let republished = try await ledger.markPublished(jobID: failed, at: at(30))
            #expect(republished.publishedAt == stored(at(21)))
            #expect(republished.updatedAt == stored(at(30)))
            // Republishing a published job is refused (the worker republishes stored bytes
            // without a ledger write).
            await expectLedgerError(.invalidTransition) { _ = try await ledger.markPublished(jobID: done, at: at(31)) }

            // Byte for byte after a reopen, through another instance.
            let reader = try await harness.open()
            #expect(try await reader.record(jobID: done)?.resultMessage == allBytes)
            #expect(try await reader.record(jobID: failed)?.resultMessage == failure)
            #expect(try await reader.record(jobID: empty)?.resultMessage == [])
            #expect(try await reader.record(jobID: big)?.resultMessage == bigMessage)
            await reader.close()
        }
    }

    @Test(
        "reopen (dead-letter replay): failed -> accepted with the replayed fingerprint; counters and firstSeenAt kept, task, result and publishedAt cleared",
        arguments: Backend.allCases)
    func reopenFromFailed(backend: Backend) async throws {
        try await withLedger(backend) { ledger, harness in
            let jobID = newJobID("replay")
            try await bring(ledger, jobID, to: .submitted)
            try await ledger.recordPolls(jobID: jobID, count: 7, at: at(5))
            let recreating = try await ledger.markCreating(jobID: jobID, at: at(6))
            _ = try await ledger.recordTask(jobID: jobID, taskID: "task-second", createAttempts: recreating.createAttempts, at: at(7))
            _ = try await ledger.fail(jobID: jobID, resultMessage: Array("dead".utf8), at: at(8))
            let deadLettered = try await ledger.markPublished(jobID: jobID, at: at(9))
            #expect(deadLettered.state == .failed)
            #expect(deadLettered.taskID == "task-second")
            #expect(deadLettered.publishedAt == stored(at(9)))

            let reopened = try await ledger.reopen(jobID: jobID, fingerprint: "fp-replayed-payload", at: at(50))
            #expect(
                reopened
                    == JobRecord(
                        jobID: jobID, fingerprint: "fp-replayed-payload", state: .accepted, taskID: nil, createAttempts: 2,
                        pollAttempts: 7, resultMessage: nil, firstSeenAt: stored(at(0)), updatedAt: stored(at(50)),
                        publishedAt: nil))
            #expect(try await ledger.record(jobID: jobID) == reopened)
            let seenByAnotherInstance = try await withSecondLedger(harness) { other in
                try await other.record(jobID: jobID)
            }
            #expect(seenByAnotherInstance == reopened)
            let counts = try await ledger.countByState()
            #expect(counts[.accepted] == 1)
            #expect(counts[.failed] == 0)
        }
    }

    @Test(
        "reopen from every state but failed (and of a job already reopened) throws invalidTransition and leaves the row unchanged",
        arguments: Backend.allCases)
    func reopenRefusedOutsideFailed(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            for state in JobState.allCases where state != .failed {
                let jobID = newJobID("reopen-from-\(state.rawValue)")
                let before = try await bring(ledger, jobID, to: state)
                await expectLedgerError(.invalidTransition, "reopen from \(state)") {
                    _ = try await ledger.reopen(jobID: jobID, fingerprint: "fp-other", at: at(100))
                }
                #expect(try await ledger.record(jobID: jobID) == before, "reopen from \(state) changed the row")
            }

            // A replay run twice: the second reopen finds the job accepted and is refused.
            let jobID = newJobID("reopen-twice")
            try await bring(ledger, jobID, to: .failed)
            let reopened = try await ledger.reopen(jobID: jobID, fingerprint: "fp-first-replay", at: at(10))
            await expectLedgerError(.invalidTransition, "second reopen") {
                _ = try await ledger.reopen(jobID: jobID, fingerprint: "fp-second-replay", at: at(11))
            }
            #expect(try await ledger.record(jobID: jobID) == reopened)
        }
    }

    @Test("reopen of an unknown job throws notFound and creates no row", arguments: Backend.allCases)
    func reopenUnknownJob(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID("missing")
            await expectLedgerError(.notFound) {
                _ = try await ledger.reopen(jobID: jobID, fingerprint: "fp", at: at(1))
            }
            let after = try await ledger.record(jobID: jobID)
            #expect(after == nil)
            let rows = try await ledger.countByState().values.reduce(0, +)
            #expect(rows == 0)
        }
    }

    @Test(
        "after reopen the normal path runs again (claimCreate or markCreating), and a job failing again can be reopened again",
        arguments: Backend.allCases)
    func normalPathAfterReopen(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            // claimCreate -> recordTask -> complete -> markPublished.
            let replayed = newJobID("replayed")
            try await bring(ledger, replayed, to: .submitted)
            _ = try await ledger.fail(jobID: replayed, resultMessage: Array("dead".utf8), at: at(4))
            _ = try await ledger.markPublished(jobID: replayed, at: at(5))
            let reopened = try await ledger.reopen(jobID: replayed, fingerprint: "fp-replayed", at: at(10))
            #expect(reopened.createAttempts == 1)

            let claimed = try await ledger.claimCreate(
                jobID: replayed, expectedCreateAttempts: reopened.createAttempts, at: at(11))
            #expect(claimed.state == .creating)
            #expect(claimed.createAttempts == 2, "the replay's create is counted on top of the first run's")
            let submitted = try await ledger.recordTask(jobID: replayed, taskID: "task-replay", createAttempts: claimed.createAttempts, at: at(12))
            #expect(submitted.state == .submitted)
            #expect(submitted.taskID == "task-replay")
            try await ledger.recordPolls(jobID: replayed, count: 2, at: at(13))
            let completed = try await ledger.complete(jobID: replayed, resultMessage: allBytes, at: at(14))
            #expect(completed.state == .completed)
            #expect(completed.resultMessage == allBytes)
            #expect(completed.publishedAt == nil)
            let published = try await ledger.markPublished(jobID: replayed, at: at(15))
            #expect(
                published
                    == JobRecord(
                        jobID: replayed, fingerprint: "fp-replayed", state: .published, taskID: "task-replay",
                        createAttempts: 2, pollAttempts: 2, resultMessage: allBytes, firstSeenAt: stored(at(0)),
                        updatedAt: stored(at(15)), publishedAt: stored(at(15))))
            await expectLedgerError(.invalidTransition, "reopen of a published job") {
                _ = try await ledger.reopen(jobID: replayed, fingerprint: "fp-again", at: at(16))
            }

            // markCreating -> fail -> markPublished -> reopen again: a second dead letter.
            let twice = newJobID("twice")
            try await bring(ledger, twice, to: .failed)
            _ = try await ledger.reopen(jobID: twice, fingerprint: "fp-replay-1", at: at(10))
            #expect(try await ledger.markCreating(jobID: twice, at: at(11)).createAttempts == 1)
            _ = try await ledger.fail(jobID: twice, resultMessage: Array("dead again".utf8), at: at(12))
            let deadAgain = try await ledger.markPublished(jobID: twice, at: at(13))
            #expect(deadAgain.state == .failed)
            #expect(deadAgain.publishedAt == stored(at(13)), "the replay's dead letter gets its own publishedAt")
            let again = try await ledger.reopen(jobID: twice, fingerprint: "fp-replay-2", at: at(20))
            #expect(again.state == .accepted)
            #expect(again.fingerprint == "fp-replay-2")
            #expect(again.createAttempts == 1)
            #expect(again.resultMessage == nil)
            #expect(again.publishedAt == nil)
        }
    }

    @Test("unknown jobs: record is nil, every transition throws notFound", arguments: Backend.allCases)
    func unknownJob(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID("missing")
            let before = try await ledger.record(jobID: jobID)
            #expect(before == nil)
            for operation in Operation.allCases {
                await expectLedgerError(.notFound, "\(operation)") { try await operation.run(ledger, jobID, at: at(1)) }
            }
            let after = try await ledger.record(jobID: jobID)
            #expect(after == nil)
        }
    }

    @Test("countByState counts rows per state and reports zero for empty states", arguments: Backend.allCases)
    func countByState(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let empty = try await ledger.countByState()
            #expect(empty == Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) }))
            let wanted: [JobState: Int] = [.accepted: 3, .creating: 1, .submitted: 2, .completed: 0, .published: 4, .failed: 1]
            for (state, count) in wanted {
                for _ in 0..<count { try await bring(ledger, newJobID(), to: state) }
            }
            #expect(try await ledger.countByState() == wanted)
        }
    }

    @Test("timestamps are UTC instants with millisecond precision", arguments: Backend.allCases)
    func timestampPrecision(backend: Backend) async throws {
        try await withLedger(backend) { ledger, _ in
            let jobID = newJobID()
            let first = Date(timeIntervalSince1970: 1_700_000_000.0014)
            let second = first.addingTimeInterval(0.001)
            let accepted = try await ledger.accept(jobID: jobID, fingerprint: "fp", at: first).record
            #expect(accepted.firstSeenAt.timeIntervalSince1970 == 1_700_000_000.001)
            let creating = try await ledger.markCreating(jobID: jobID, at: second)
            #expect(creating.updatedAt == stored(second))
            #expect(creating.updatedAt.timeIntervalSince(creating.firstSeenAt) > 0.0009)
            // Dates long before and after now survive too.
            let old = newJobID()
            let past = Date(timeIntervalSince1970: 86_400.5)
            #expect(try await ledger.accept(jobID: old, fingerprint: "fp", at: past).record.firstSeenAt == past)
        }
    }

    @Test("ping answers while open; after close every call throws unavailable", arguments: Backend.allCases)
    func pingAndClose(backend: Backend) async throws {
        let harness = try LedgerHarness(backend)
        defer { harness.remove() }
        let ledger = try await harness.open()
        try await ledger.ping()
        try await ledger.ping()
        await ledger.close()
        await ledger.close() // idempotent
        await expectLedgerError(.unavailable) { try await ledger.ping() }
        await expectLedgerError(.unavailable) { _ = try await ledger.record(jobID: "x") }
        await expectLedgerError(.unavailable) { _ = try await ledger.accept(jobID: "x", fingerprint: "f", at: at(0)) }
    }
}
