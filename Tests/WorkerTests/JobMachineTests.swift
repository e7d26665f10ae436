import Foundation
import JobContract
import JobCore
import Ledger
import OCRClient
import OCRTaskAPI
import Testing

@testable import PollPlanning
@testable import Worker

/// The job state machine's rows, one test each (or a few), driven by hand: no I/O, no
/// clock, no sleeps. The table is in `JobMachine`'s documentation and in
/// docs/architecture.md.
@Suite("Job state machine")
struct JobMachineTests {
    static let t0 = ContinuousClock.now
    static let d0 = Date(timeIntervalSince1970: 1_800_000_000)

    static let rules = JobMachine.Rules(
        maxRecreates: 2, taskTimeout: .seconds(1800), pollBackoff: PollBackoff(), createClaimTimeout: .seconds(30),
        dependencyRetryDelay: .seconds(1), rehost: true, resultURLLifetime: .seconds(3600))

    static func at(_ seconds: Double) -> JobMachine.Now {
        .init(instant: t0 + .milliseconds(Int64(seconds * 1000)), date: d0.addingTimeInterval(seconds))
    }

    static func row(_ state: JobState, taskID: String? = nil, attempts: Int = 0, updated: Double = 0, result: [UInt8]? = nil, published: Bool = false)
        -> JobRecord
    {
        JobRecord(
            jobID: "job-1", fingerprint: "fp", state: state, taskID: taskID, createAttempts: attempts, resultMessage: result,
            firstSeenAt: d0, updatedAt: d0.addingTimeInterval(updated), publishedAt: published ? d0 : nil)
    }

    static func machine(_ record: JobRecord = row(.accepted), rules: JobMachine.Rules = rules, deadline: Date? = nil) -> JobMachine {
        JobMachine(record: record, deadline: deadline, resultContentType: "text/plain", rules: rules, now: at(0))
    }

    static func task(_ state: TaskState, id: String = "t1", progress: Int? = nil, file: String? = nil, createdAt: Date? = nil) -> TaskRecord {
        TaskRecord(taskID: id, state: state, progress: progress, file: file, createdAt: createdAt.map(UnixTimestamp.init))
    }

    /// An HTTP failure as the client reports it, through the worker's adapter.
    static func http(_ status: Int, _ endpoint: TaskEndpoint) -> ProviderFailure {
        ProviderFailure(OCRClientError(code: .httpStatus, endpoint: endpoint, status: status, reason: "status \(status)"))
    }

    /// A machine that created task `t1` and is about to poll it.
    static func polling(rules: JobMachine.Rules = rules) -> JobMachine {
        var m = machine(rules: rules)
        _ = m.start(at: at(0))
        _ = m.handle(.created(record: row(.submitted, taskID: "t1", attempts: 1), taskID: "t1"), at: at(0))
        _ = m.handle(.woke, at: at(1))
        return m
    }

    static func failure(_ step: JobMachine.Step) -> JobFailure? {
        if case .settle(.failed(let failure, _, _), _) = step.effect { return failure }
        return nil
    }

    // MARK: Start

    @Test("a new job is created with the row's create count as the claim's expectation")
    func newJobCreates() {
        var m = Self.machine(Self.row(.accepted, attempts: 0))
        #expect(m.start(at: Self.at(0)).effect == .create(expectedCreateAttempts: 0, upload: false))
        #expect(m.phase == .creating)
    }

    @Test("a submitted row resumes polling its task, no create")
    func resumeSubmitted() {
        var m = Self.machine(Self.row(.submitted, taskID: "t9", attempts: 1))
        let step = m.start(at: Self.at(0))
        #expect(step.effect == .poll(taskID: "t9"))
        #expect(step.notes == [.resumed(taskID: "t9")])
    }

    @Test("a settled row republishes its stored bytes; a failure never published gets its dead letter again")
    func republishSettled() {
        let bytes = Array(#"{"error":{"class":"provider_rejected","code":"-7","message":"bad"}}"#.utf8)
        var m = Self.machine(Self.row(.failed, result: bytes))
        let step = m.start(at: Self.at(0))
        guard case .publish(_, let deadLetter) = step.effect else {
            Issue.record("\(step)")
            return
        }
        #expect(deadLetter?.code == "-7")
        #expect(m.handle(.sent, at: Self.at(0)).effect == .markPublished)
        #expect(m.handle(.marked, at: Self.at(0)).effect == .finish(.republished))

        var published = Self.machine(Self.row(.published, result: bytes, published: true))
        #expect(published.start(at: Self.at(0)).effect == .publish(Self.row(.published, result: bytes, published: true), deadLetter: nil))
        #expect(published.handle(.sent, at: Self.at(0)).effect == .finish(.republished))
    }

    @Test("opening: another unsettled payload's id defers; a replay of a published failure reopens")
    func opening() {
        let other = Self.row(.submitted, taskID: "t1")
        #expect(JobMachine.opening(record: other, isNew: false, fingerprint: "other", isReplay: false) == .deferToFirstPayload)
        #expect(JobMachine.opening(record: other, isNew: false, fingerprint: "fp", isReplay: false) == .drive)
        let failed = Self.row(.failed, result: [], published: true)
        #expect(JobMachine.opening(record: failed, isNew: false, fingerprint: "fp", isReplay: true) == .reopenForReplay)
        #expect(JobMachine.opening(record: failed, isNew: false, fingerprint: "fp", isReplay: false) == .drive)
    }

    // MARK: Claims

    @Test("a live foreign claim is awaited (counted once), and its recorded task is polled")
    func awaitLiveClaim() {
        var m = Self.machine(Self.row(.creating, attempts: 3, updated: -5))
        let first = m.start(at: Self.at(0))
        #expect(first.effect == .wait(until: Self.at(1).instant))
        #expect(first.notes == [.claimAwaited])
        #expect(m.phase == .awaitingClaim)
        #expect(m.handle(.woke, at: Self.at(1)).effect == .readLedger)
        let again = m.handle(.ledgerRead(Self.row(.creating, attempts: 3, updated: 0)), at: Self.at(1))
        #expect(again.effect == .wait(until: Self.at(2).instant))
        #expect(again.notes.isEmpty)
        _ = m.handle(.woke, at: Self.at(2))
        #expect(m.handle(.ledgerRead(Self.row(.submitted, taskID: "theirs", attempts: 3)), at: Self.at(2)).effect == .poll(taskID: "theirs"))
    }

    @Test("a claim nobody renewed for the claim timeout is taken over (counted) and created")
    func takeOverStaleClaim() {
        var m = Self.machine(Self.row(.creating, attempts: 3, updated: -31))
        let step = m.start(at: Self.at(0))
        #expect(step.effect == .create(expectedCreateAttempts: 3, upload: false))
        #expect(step.notes == [.claimTakenOver(age: 31, createAttempts: 3)])
    }

    @Test("a claim's age is the ledger's measure when it gives one, whatever this pod's clock says of updatedAt")
    func claimAgeByTheLedgersClock() {
        // The writer's clock ran an hour behind ours: by updatedAt the claim looks an hour
        // old, but the ledger renewed it 2 s ago by its own clock. It is live: awaited.
        var behind = Self.row(.creating, attempts: 3, updated: -3600)
        behind.claimAge = 2
        var live = Self.machine(behind)
        #expect(live.start(at: Self.at(0)).effect == .wait(until: Self.at(1).instant))
        #expect(live.phase == .awaitingClaim)

        // The writer's clock ran ahead: by updatedAt the claim was renewed just now, but
        // the ledger has not seen a renewal for 31 s. It is a crash's: taken over.
        var ahead = Self.row(.creating, attempts: 3, updated: 60)
        ahead.claimAge = 31
        var stale = Self.machine(ahead)
        let step = stale.start(at: Self.at(0))
        #expect(step.effect == .create(expectedCreateAttempts: 3, upload: false))
        #expect(step.notes == [.claimTakenOver(age: 31, createAttempts: 3)])
    }

    @Test("a job settled by another driver while we waited is republished")
    func settledWhileAwaiting() {
        var m = Self.machine(Self.row(.creating, attempts: 1))
        _ = m.start(at: Self.at(0))
        _ = m.handle(.woke, at: Self.at(1))
        let step = m.handle(.ledgerRead(Self.row(.completed, taskID: "t", attempts: 1, result: [1])), at: Self.at(1))
        guard case .publish(_, nil) = step.effect else {
            Issue.record("\(step)")
            return
        }
    }

    @Test("our own claim (a create that failed transiently) is not mistaken for a foreign one")
    func ownClaimIsNotForeign() {
        var m = Self.machine()
        _ = m.start(at: Self.at(0))
        let step = m.handle(.createFailed(Self.http(503, .create), claimed: 1, record: Self.row(.creating, attempts: 1)), at: Self.at(0))
        #expect(step.effect == .wait(until: Self.at(15).instant))
        #expect(m.handle(.woke, at: Self.at(15)).effect == .create(expectedCreateAttempts: 1, upload: false))
    }

    @Test("a claim lost to another racer waits, re-reads and follows the winner's task")
    func claimLost() {
        var m = Self.machine()
        _ = m.start(at: Self.at(0))
        let step = m.handle(.createInterrupted(claimed: nil, record: Self.row(.creating, attempts: 1)), at: Self.at(0))
        #expect(step.effect == .wait(until: Self.at(1).instant))
        #expect(m.handle(.woke, at: Self.at(1)).effect == .readLedger)
        #expect(m.handle(.ledgerRead(Self.row(.submitted, taskID: "winner", attempts: 1)), at: Self.at(1)).effect == .poll(taskID: "winner"))
    }

    // MARK: Create outcomes

    @Test("created: wait the first backoff, then poll")
    func created() {
        var m = Self.machine()
        _ = m.start(at: Self.at(0))
        #expect(
            m.handle(.created(record: Self.row(.submitted, taskID: "t1", attempts: 1), taskID: "t1"), at: Self.at(0)).effect
                == .wait(until: Self.at(1).instant))
        #expect(m.handle(.woke, at: Self.at(1)).effect == .poll(taskID: "t1"))
    }

    @Test("a permanent create refusal (400, 413) fails the job provider_rejected with the status")
    func createPermanent() {
        for status in [400, 413] {
            var m = Self.machine()
            _ = m.start(at: Self.at(0))
            let step = m.handle(.createFailed(Self.http(status, .create), claimed: 1, record: nil), at: Self.at(0))
            #expect(Self.failure(step)?.errorClass == .providerRejected)
            #expect(Self.failure(step)?.code == "http_\(status)")
            #expect(m.phase == .settling)
        }
    }

    @Test("a create whose source download (our upload) was refused by the address rule fails source_unreachable")
    func createForbiddenSource() {
        var m = Self.machine()
        _ = m.start(at: Self.at(0))
        let refused = ProviderFailure(OCRClientError(code: .forbiddenAddress, endpoint: .create, reason: "address not allowed"))
        let step = m.handle(.createFailed(refused, claimed: 1, record: nil), at: Self.at(0))
        #expect(Self.failure(step)?.errorClass == .sourceUnreachable)
        #expect(Self.failure(step)?.code == "forbidden_address")
    }

    @Test("401 and 5xx on create never fail the job: wait the cap, create again")
    func createDeploymentFault() {
        for status in [401, 500, 429] {
            var m = Self.machine()
            _ = m.start(at: Self.at(0))
            let step = m.handle(.createFailed(Self.http(status, .create), claimed: 1, record: Self.row(.creating, attempts: 1)), at: Self.at(0))
            #expect(step.effect == .wait(until: Self.at(15).instant), "status \(status)")
        }
    }

    // MARK: Polling

    @Test("pending states back off from 1 s by x1.5; progress shortens the wait")
    func pendingBackoff() {
        var m = Self.polling()
        #expect(m.handle(.polled(Self.task(.processing)), at: Self.at(1)).effect == .wait(until: Self.at(2.5).instant))
        _ = m.handle(.woke, at: Self.at(2.5))
        #expect(m.handle(.polled(Self.task(.processing)), at: Self.at(2.5)).effect == .wait(until: Self.at(4.75).instant))
        #expect(m.unrecordedPolls == 2)
    }

    @Test("state 1 with a file: rehost it; pass-through: settle with the provider's URL")
    func success() {
        var m = Self.polling()
        #expect(m.handle(.polled(Self.task(.success, file: "https://r/1")), at: Self.at(2)).effect == .rehost(taskID: "t1", fileURL: "https://r/1"))
        var rules = Self.rules
        rules.rehost = false
        var p = Self.polling(rules: rules)
        let step = p.handle(.polled(Self.task(.success, file: "https://r/1")), at: Self.at(2))
        guard case .settle(.succeeded(_, let file, let attempts), let polls) = step.effect else {
            Issue.record("\(step)")
            return
        }
        #expect(file.location == nil && file.fileURL == "https://r/1" && file.contentType == "text/plain")
        #expect(attempts == .init(creates: 1, polls: 1))
        #expect(polls == 1)
    }

    @Test("states -1, -2, -8 and a success without a file re-create, bounded by maxRecreates")
    func recreateBound() {
        for state in [TaskState.failed, .resultUploadFailed, .processingTimeout] {
            var m = Self.polling()
            var step = m.handle(.polled(Self.task(state)), at: Self.at(2))
            #expect(step.effect == .create(expectedCreateAttempts: 1, upload: false))
            #expect(step.notes.contains(.recreating(reason: "task state \(state.rawValue): ", count: 1)))
            _ = m.handle(.created(record: Self.row(.submitted, taskID: "t2", attempts: 2), taskID: "t2"), at: Self.at(2))
            _ = m.handle(.woke, at: Self.at(3))
            step = m.handle(.polled(Self.task(state, id: "t2")), at: Self.at(3))
            #expect(step.effect == .create(expectedCreateAttempts: 2, upload: false))
            _ = m.handle(.created(record: Self.row(.submitted, taskID: "t3", attempts: 3), taskID: "t3"), at: Self.at(3))
            _ = m.handle(.woke, at: Self.at(4))
            step = m.handle(.polled(Self.task(state, id: "t3")), at: Self.at(4))
            let failure = Self.failure(step)
            #expect(failure?.errorClass == .providerFailed)
            #expect(failure?.code == "\(state.rawValue)")
            #expect(failure?.message.contains("gave up after 3 tasks") == true)
            #expect(failure?.taskID == "t3")
        }
        var m = Self.polling()
        #expect(m.handle(.polled(Self.task(.success, file: "")), at: Self.at(2)).effect == .create(expectedCreateAttempts: 1, upload: false))
    }

    @Test("state -3: the next create uploads the document (not a re-create); again -3: source_unreachable")
    func uploadFallback() {
        var m = Self.polling()
        let step = m.handle(.polled(Self.task(.sourceDownloadFailed)), at: Self.at(2))
        #expect(step.effect == .create(expectedCreateAttempts: 1, upload: true))
        #expect(m.recreates == 0)
        _ = m.handle(.created(record: Self.row(.submitted, taskID: "t2", attempts: 2), taskID: "t2"), at: Self.at(2))
        _ = m.handle(.woke, at: Self.at(3))
        let failure = Self.failure(m.handle(.polled(Self.task(.sourceDownloadFailed, id: "t2")), at: Self.at(3)))
        #expect(failure?.errorClass == .sourceUnreachable)
        #expect(failure?.code == "-3")
    }

    @Test("states -5, -7 and unknown negatives fail provider_rejected at once")
    func permanentStates() {
        for state in [TaskState.tooLarge, .invalidFile, TaskState(-42)] {
            var m = Self.polling()
            let failure = Self.failure(m.handle(.polled(Self.task(state)), at: Self.at(2)))
            #expect(failure?.errorClass == .providerRejected)
            #expect(failure?.code == "\(state.rawValue)")
        }
    }

    @Test("404 on a poll: the task is lost, re-create; 400: fail; 5xx and 401: poll again later")
    func pollFailures() {
        var lost = Self.polling()
        #expect(lost.handle(.pollFailed(Self.http(404, .query)), at: Self.at(2)).effect == .create(expectedCreateAttempts: 1, upload: false))
        var bad = Self.polling()
        #expect(Self.failure(bad.handle(.pollFailed(Self.http(400, .query)), at: Self.at(2)))?.code == "http_400")
        for status in [401, 503] {
            var m = Self.polling()
            #expect(m.handle(.pollFailed(Self.http(status, .query)), at: Self.at(2)).effect == .wait(until: Self.at(3).instant))
        }
    }

    @Test("the task deadline counts from the provider's created_at, so a resumed task keeps it")
    func deadlineFromCreatedAt() {
        var m = Self.machine(Self.row(.submitted, taskID: "old", attempts: 1))
        _ = m.start(at: Self.at(0))
        // The provider says the task was created 1799 s before now.
        let step = m.handle(.polled(Self.task(.processing, id: "old", createdAt: Self.d0.addingTimeInterval(-1799))), at: Self.at(0))
        guard case .wait(let until) = step.effect else {
            Issue.record("\(step)")
            return
        }
        // At the next poll the task is past the 1800 s timeout: re-create, not poll.
        let next = m.handle(.woke, at: .init(instant: until, date: Self.d0.addingTimeInterval(11)))
        #expect(next.effect == .create(expectedCreateAttempts: 1, upload: false))
        #expect(next.notes.contains(.recreating(reason: "task exceeded the task timeout", count: 1)))
    }

    @Test("a created_at in the future, absurdly old or not finite is ignored")
    func hostileCreatedAt() {
        for createdAt in [Self.d0.addingTimeInterval(3600), Self.d0.addingTimeInterval(-30 * 24 * 3600), Date.distantPast] {
            var m = Self.polling()
            let before = m.taskStartedAt
            _ = m.handle(.polled(Self.task(.processing, createdAt: createdAt)), at: Self.at(2))
            #expect(m.taskStartedAt == before)
        }
    }

    @Test("the job's own deadline fails it deadline_exceeded at the next step")
    func jobDeadline() {
        var m = Self.machine(deadline: Self.d0.addingTimeInterval(5))
        _ = m.start(at: Self.at(0))
        _ = m.handle(.created(record: Self.row(.submitted, taskID: "t1", attempts: 1), taskID: "t1"), at: Self.at(0))
        let failure = Self.failure(m.handle(.woke, at: Self.at(6)))
        #expect(failure?.errorClass == .deadlineExceeded)
        #expect(failure?.taskID == "t1")
    }

    // MARK: Rehosting

    @Test("an expired result URL is queried again for a fresh one twice, then the task is re-created")
    func refreshResultURL() {
        var m = Self.polling()
        _ = m.handle(.polled(Self.task(.success, file: "https://r/1")), at: Self.at(2))
        for _ in 0..<2 {
            #expect(m.handle(.rehostFailed(Self.http(403, .download)), at: Self.at(3)).effect == .poll(taskID: "t1"))
            _ = m.handle(.polled(Self.task(.success, file: "https://r/1")), at: Self.at(3))
        }
        let step = m.handle(.rehostFailed(Self.http(403, .download)), at: Self.at(4))
        #expect(step.effect == .create(expectedCreateAttempts: 1, upload: false))
    }

    @Test("our result store failing never fails the job: wait the cap, poll for a fresh URL")
    func storeFailure() {
        var m = Self.polling()
        _ = m.handle(.polled(Self.task(.success, file: "https://r/1")), at: Self.at(2))
        let step = m.handle(.storeFailed, at: Self.at(2))
        #expect(step.effect == .wait(until: Self.at(17).instant))
        #expect(step.notes == [.resultStoreFailed])
        #expect(m.handle(.woke, at: Self.at(17)).effect == .poll(taskID: "t1"))
    }

    // MARK: Settling and publishing

    @Test("success: settle, publish, mark published, finish succeeded")
    func successPath() {
        var m = Self.polling()
        _ = m.handle(.polled(Self.task(.success, file: "https://r/1")), at: Self.at(2))
        let file = JobResult.ResultFile(
            fileURL: "https://r/1", fileURLExpiresAt: Self.d0, location: "file:///x", sizeBytes: 1, sha256: "00", contentType: "text/plain")
        guard case .settle(.succeeded, 1) = m.handle(.rehosted(file), at: Self.at(3)).effect else {
            Issue.record("no settle")
            return
        }
        let stored = Self.row(.completed, taskID: "t1", attempts: 1, result: [1])
        #expect(m.handle(.settled(stored), at: Self.at(3)).effect == .publish(stored, deadLetter: nil))
        #expect(m.handle(.sent, at: Self.at(3)).effect == .markPublished)
        #expect(m.handle(.marked, at: Self.at(3)).effect == .finish(.succeeded))
        #expect(m.phase == .published)
    }

    @Test("failure: settle, publish with the dead letter, mark published, finish failed")
    func failurePath() {
        var m = Self.polling()
        let failure = Self.failure(m.handle(.polled(Self.task(.invalidFile)), at: Self.at(2)))
        let stored = Self.row(.failed, taskID: "t1", attempts: 1, result: [1])
        #expect(m.handle(.settled(stored), at: Self.at(3)).effect == .publish(stored, deadLetter: failure))
        #expect(m.handle(.sent, at: Self.at(3)).effect == .markPublished)
        #expect(m.handle(.marked, at: Self.at(3)).effect == .finish(.failed(.providerRejected)))
    }

    @Test("a refused settle republishes the other driver's result, or redrives when it is not settled")
    func settleRefused() {
        var m = Self.polling()
        _ = m.handle(.polled(Self.task(.invalidFile)), at: Self.at(2))
        #expect(m.handle(.settleRefused, at: Self.at(2)).effect == .readLedger)
        let theirs = Self.row(.published, taskID: "t1", attempts: 1, result: [7], published: true)
        #expect(m.handle(.ledgerRead(theirs), at: Self.at(2)).effect == .publish(theirs, deadLetter: nil))
        #expect(m.handle(.sent, at: Self.at(2)).effect == .finish(.republished))

        var n = Self.polling()
        _ = n.handle(.polled(Self.task(.invalidFile)), at: Self.at(2))
        _ = n.handle(.settleRefused, at: Self.at(2))
        #expect(n.handle(.ledgerRead(Self.row(.submitted, taskID: "x")), at: Self.at(2)).effect == .finish(.redrive))
    }

    @Test("an event the phase does not expect ends the driver with a redrive, never a trap")
    func unexpectedEvent() {
        var m = Self.machine()
        _ = m.start(at: Self.at(0))
        let step = m.handle(.marked, at: Self.at(0))
        #expect(step.effect == .finish(.redrive))
    }

    @Test("poll counts are written once, with the settle, and added to the row's count")
    func pollsRecordedAtSettle() {
        var rules = Self.rules
        rules.rehost = false
        var m = Self.polling(rules: rules)
        for i in 0..<5 {
            _ = m.handle(.polled(Self.task(.processing)), at: Self.at(Double(2 + i)))
            _ = m.handle(.woke, at: Self.at(Double(3 + i)))
        }
        let step = m.handle(.polled(Self.task(.success, file: "https://r/1")), at: Self.at(10))
        guard case .settle(.succeeded(_, _, let attempts), let polls) = step.effect else {
            Issue.record("\(step)")
            return
        }
        #expect(polls == 6)
        #expect(attempts.polls == 6)
    }
}
