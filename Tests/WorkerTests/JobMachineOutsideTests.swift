import Foundation
import JobContract
import JobCore
import Testing

/// The rules around a job's life that no transition row covers: records that break the
/// contract, and failures of the drive itself.
@Suite("JobMachine: rejected records and unexplained failures")
struct JobMachineOutsideTests {
    typealias T = JobMachineTests

    @Test("a record over the size caps gets a stub dead letter, never its job id read")
    func tooLargeIsStub() {
        let rejection = JobRejection(code: .recordTooLarge, message: "too large", jobID: "job-1")
        #expect(JobMachine.rejection(rejection) == .deadLetterStub)
    }

    @Test("a bad record without a job id is dead-lettered only; with one, its row is accepted")
    func withAndWithoutJobID() {
        #expect(JobMachine.rejection(JobRejection(code: .malformedJSON, message: "x")) == .deadLetterOnly)
        #expect(JobMachine.rejection(JobRejection(code: .malformedJSON, message: "x", jobID: "job-1")) == .acceptRow(jobID: "job-1"))
    }

    @Test("a rejected record's row: new or left accepted stores and publishes, settled republishes, another payload's id only dead-letters")
    func rejectedRow() {
        let fp = JobMachine.rejectedFingerprint("abc")
        #expect(fp == "invalid:abc")
        var mine = T.row(.accepted)
        mine.fingerprint = fp
        #expect(JobMachine.afterAcceptingRejected(mine, isNew: true, fingerprint: fp) == .storeAndPublish)
        #expect(JobMachine.afterAcceptingRejected(mine, isNew: false, fingerprint: fp) == .storeAndPublish)
        var settled = T.row(.failed, result: [1])
        settled.fingerprint = fp
        #expect(JobMachine.afterAcceptingRejected(settled, isNew: false, fingerprint: fp) == .republish)
        let theirs = T.row(.completed, taskID: "t1", result: [1])
        #expect(JobMachine.afterAcceptingRejected(theirs, isNew: false, fingerprint: fp) == .deadLetterOnly)
    }

    @Test("an unexplained failure drives again with a growing delay, then dead-letters as internal on the fifth try")
    func unexplainedFailure() {
        #expect(JobMachine.afterFailure("boom", tries: 1, permanent: false, rules: T.rules) == .driveAgain(after: .seconds(1)))
        #expect(JobMachine.afterFailure("boom", tries: 4, permanent: false, rules: T.rules) == .driveAgain(after: .seconds(4)))
        guard case .deadLetter(let failure) = JobMachine.afterFailure("boom", tries: JobMachine.maxUnexplainedTries, permanent: false, rules: T.rules)
        else {
            Issue.record("the fifth try must dead-letter")
            return
        }
        #expect(failure.code == "internal")
        #expect(failure.message == "boom")
    }

    @Test("a send that can never succeed dead-letters at the first try")
    func permanentAtOnce() {
        guard case .deadLetter = JobMachine.afterFailure("topic not authorized", tries: 1, permanent: true, rules: T.rules) else {
            Issue.record("a permanent failure must dead-letter at once")
            return
        }
    }
}
