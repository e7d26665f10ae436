import Foundation
import JobContract
import JobCore
import Kafka
import Ledger
import OCRClient
import OCRTaskAPI
import ResultStore
import TestSupport
import Testing

@testable import Worker

/// The runner through its ports, with a scripted provider, an in-memory SQLite ledger, a
/// real directory result store, a recording publisher and a test clock: the rules the
/// end-to-end suite used to prove with processes and sleeps, in milliseconds.
@Suite("Job runner (ports and fakes)")
struct JobRunnerTests {
    struct Rig {
        let provider = ScriptedProvider()
        let ledger: FlakyLedger
        let publisher = RecordingPublisher()
        let timer = TestTimer()
        let gate = RecordingGate()
        let runner: JobRunner
        let storeRoot: String?

        init(passThrough: Bool = false, settings: (inout JobSettings) -> Void = { _ in }) async throws {
            ledger = try await FlakyLedger.inMemory()
            var s = JobSettings(workerID: "w1", workerVersion: "test", passThrough: passThrough, dependencyRetryDelay: .milliseconds(1))
            settings(&s)
            var store: (any ResultStore)?
            if passThrough {
                storeRoot = nil
            } else {
                let root = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)").path
                store = try DirectoryResultStore(root: root)
                storeRoot = root
            }
            runner = JobRunner(
                settings: s,
                ports: .init(provider: provider, ledger: ledger, store: store, publisher: publisher, timer: timer, gate: gate),
                logger: .init(label: "test"))
        }

        var results: [OutgoingRecord] { publisher.messages(on: "ocr.results") }
        var deadLetters: [OutgoingRecord] { publisher.messages(on: "ocr.jobs.dlq") }

        func result(_ index: Int = 0) throws -> JobResult {
            let all = results
            try #require(all.count > index, "no result \(index)")
            return try JobResult.decode(all[index].value ?? [])
        }
    }

    static func message(_ json: String, offset: Int64 = 0, timestamp: Date? = Date(), headers: [KafkaHeader] = []) -> KafkaConsumerMessage {
        KafkaConsumerMessage(
            topic: "ocr.jobs", partition: 0, offset: offset, key: Array("k".utf8), value: Array(json.utf8), headers: headers,
            timestamp: timestamp, timestampType: timestamp == nil ? nil : .createTime)
    }

    static let job = #"{"job_id":"job-1","source":{"url":"https://docs.test/a.pdf"}}"#
    static var fingerprint: String { (try? JobDecoder().decode(Array(job.utf8)).fingerprint) ?? "" }

    @Test("a job runs to a published result: one create, polls until done, rehosted, ledger published")
    func happyPath() async throws {
        let rig = try await Rig()
        rig.provider.scriptQueries(
            "t1",
            [
                .success(.init(taskID: "t1", state: .queued)),
                .success(.init(taskID: "t1", state: .processing, progress: 50)),
                .success(.init(taskID: "t1", state: .success, progress: 100, file: "https://results.test/t1.txt")),
            ])
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.count == 1)
        #expect(rig.provider.queryCalls == ["t1", "t1", "t1"])
        let result = try rig.result()
        #expect(result.status == .succeeded)
        #expect(result.result?.location?.hasPrefix("file://") == true)
        #expect(result.attempts == .init(creates: 1, polls: 3))
        #expect(rig.deadLetters.isEmpty)
        let row = try #require(try await rig.ledger.record(jobID: "job-1"))
        #expect(row.state == .published)
        #expect(row.pollAttempts == 3)
        // Poll counts are written with the result, in the same write, not once per poll.
        #expect(rig.ledger.calls("recordPolls") == 0)
        #expect(rig.ledger.calls("complete") == 1)
    }

    @Test("a redelivered published job republishes the same bytes and creates nothing")
    func redelivery() async throws {
        let rig = try await Rig(passThrough: true)
        try await rig.runner.handle(Self.message(Self.job))
        try await rig.runner.handle(Self.message(Self.job, offset: 1))
        #expect(rig.provider.createCalls.count == 1)
        #expect(rig.results.count == 2)
        #expect(rig.results[0].value == rig.results[1].value)
    }

    @Test("the ledger down between a create and its record: retried until stored, one task only")
    func ledgerOutageAfterCreate() async throws {
        let rig = try await Rig(passThrough: true)
        rig.ledger.fail("recordTask", times: 5)
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.count == 1)
        #expect(rig.ledger.calls("recordTask") == 6)
        #expect(try rig.result().status == .succeeded)
        #expect(try rig.result().taskID == "t1")
    }

    @Test("the ledger away for far longer than the claim timeout: the task id is kept and stored when it is back; no second create")
    func taskIDKeptPastTheClaimTimeout() async throws {
        let rig = try await Rig(passThrough: true) { $0.createClaimTimeout = .milliseconds(1) }
        // 1 + 2 + ... + 128 ms of retries: 255 times the claim timeout.
        rig.ledger.fail("recordTask", times: 8)
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.count == 1)
        #expect(rig.ledger.calls("recordTask") == 9)
        #expect(try rig.result().taskID == "t1")
    }

    @Test("a claim taken over while the task id could not be stored: the stale write is refused and the new holder's task is polled")
    func staleTaskIDFencedOut() async throws {
        let rig = try await Rig(passThrough: true)
        let base = rig.ledger.base
        rig.ledger.fail("recordTask", times: 1)
        rig.ledger.once("recordTask") {
            // Another pod took the claim over (this one's renewals could not reach the
            // ledger either) and recorded its own task.
            let current = try #require(try await base.record(jobID: "job-1"))
            let theirs = try await base.claimCreate(jobID: "job-1", expectedCreateAttempts: current.createAttempts, at: Date())
            _ = try await base.recordTask(jobID: "job-1", taskID: "theirs", createAttempts: theirs.createAttempts, at: Date())
        }
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.count == 1, "no third task")
        #expect(try await base.record(jobID: "job-1")?.taskID == "theirs", "the stale write did not overwrite it")
        #expect(try rig.result().taskID == "theirs")
    }

    @Test("the ledger and the broker down for a while delay the job, never fail it")
    func dependencyOutages() async throws {
        let rig = try await Rig(passThrough: true)
        rig.ledger.fail("accept", times: 3)
        rig.ledger.fail("complete", times: 3)
        rig.publisher.failures.withLock { $0 = 3 }
        try await rig.runner.handle(Self.message(Self.job))
        #expect(try rig.result().status == .succeeded)
        #expect(rig.deadLetters.isEmpty)
        #expect(rig.provider.createCalls.count == 1)
    }

    @Test("401 on create pauses (reported to the gate) and never dead-letters; the job goes on")
    func unauthorizedCreate() async throws {
        let rig = try await Rig(passThrough: true)
        rig.provider.scriptCreates([.failure(ScriptedProvider.http(401, .create)), .success("t7")])
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.gate.recorded.first == "deployment_fault")
        #expect(rig.deadLetters.isEmpty)
        #expect(try rig.result().taskID == "t7")
        // Waited the backoff cap before trying again, on the test clock.
        #expect(rig.timer.waits.contains(.seconds(15)))
    }

    @Test("state -3: the second create uploads the document; -3 again: failed result and dead letter")
    func uploadFallback() async throws {
        let rig = try await Rig(passThrough: true)
        rig.provider.scriptQueries("t1", [.success(.init(taskID: "t1", state: .sourceDownloadFailed))])
        rig.provider.scriptQueries("t2", [.success(.init(taskID: "t2", state: .sourceDownloadFailed))])
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls == [nil, .upload])
        let result = try rig.result()
        #expect(result.status == .failed)
        #expect(result.error?.errorClass == .sourceUnreachable)
        #expect(rig.deadLetters.count == 1)
        #expect(rig.deadLetters[0].value == Array(Self.job.utf8))
        let row = try #require(try await rig.ledger.record(jobID: "job-1"))
        #expect(row.state == .failed && row.publishedAt != nil)
    }

    @Test("an expired result URL is queried again and the fresh one rehosted")
    func refreshedResultURL() async throws {
        let rig = try await Rig()
        rig.provider.scriptDownloads([.failure(ScriptedProvider.http(403, .download))])
        try await rig.runner.handle(Self.message(Self.job))
        #expect(try rig.result().status == .succeeded)
        #expect(rig.provider.queryCalls.count == 2)
        #expect(rig.provider.createCalls.count == 1)
    }

    @Test("a task past the task timeout is re-created; re-creates are bounded")
    func taskTimeout() async throws {
        let rig = try await Rig(passThrough: true) {
            $0.taskTimeout = .seconds(60)
            $0.maxRecreates = 1
        }
        for id in ["t1", "t2"] { rig.provider.scriptQueries(id, [.success(.init(taskID: id, state: .processing))]) }
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.count == 2)
        let result = try rig.result()
        #expect(result.error?.errorClass == .providerFailed)
        #expect(result.error?.code == "task_timeout")
        // The whole job took over two simulated minutes and no real time.
        #expect(rig.timer.elapsed > .seconds(120))
    }

    @Test(
        "a replay reopens a failed job only with a valid signature: unsigned, under another key, for other bytes, or without a key on the worker it is republished"
    )
    func signedReplay() async throws {
        let key = Array("replay-key-0123456789".utf8)
        let value = Array(Self.job.utf8)
        func replay(_ rig: Rig, _ signature: String, offset: Int64) async throws {
            try await rig.runner.handle(Self.message(Self.job, offset: offset, headers: [KafkaHeader(key: "ocr.replay", value: signature)]))
        }
        let rig = try await Rig(passThrough: true) { $0.replayKey = key }
        rig.provider.scriptQueries("t1", [.success(.init(taskID: "t1", state: .invalidFile))])
        try await rig.runner.handle(Self.message(Self.job))
        #expect(try rig.result(0).status == .failed)

        try await replay(rig, "true", offset: 1)
        try await replay(rig, ReplaySignature.sign(jobID: "job-1", value: value, key: Array("another-key-0123456".utf8)), offset: 2)
        let otherDocument = Array(#"{"job_id":"job-1","source":{"url":"https://elsewhere.test/b.pdf"}}"#.utf8)
        try await replay(rig, ReplaySignature.sign(jobID: "job-1", value: otherDocument, key: key), offset: 3)
        #expect(rig.provider.createCalls.count == 1, "none of these reopened the job")
        #expect(rig.results.count == 4, "each was answered with the stored failure")

        try await replay(rig, ReplaySignature.sign(jobID: "job-1", value: value, key: key), offset: 4)
        #expect(rig.provider.createCalls.count == 2, "the signed replay gave the job a new try")
        #expect(try rig.result(4).status == .succeeded)

        let keyless = try await Rig(passThrough: true)
        keyless.provider.scriptQueries("t1", [.success(.init(taskID: "t1", state: .invalidFile))])
        try await keyless.runner.handle(Self.message(Self.job))
        try await replay(keyless, ReplaySignature.sign(jobID: "job-1", value: value, key: key), offset: 1)
        #expect(keyless.provider.createCalls.count == 1, "a worker without OCR_REPLAY_KEY reopens nothing")
    }

    @Test("a document fetched for upload does not hold the create permit: another job creates meanwhile; the copy is uploaded, then removed")
    func slowSourceOutsideTheCreatePermit() async throws {
        let rig = try await Rig(passThrough: true) // one create at a time
        let (slowSource, arrive) = AsyncStream.makeStream(of: Void.self)
        rig.provider.scriptFetches(forHost: "slow.test", until: slowSource)
        let slow = #"{"job_id":"job-slow","source":{"url":"https://slow.test/a.pdf"}}"#
        let runner = rig.runner
        let slowJob = Task { try await runner.handle(Self.message(slow, offset: 0)) }
        try await waitUntil("the slow source is being fetched") { rig.provider.fetchCalls == ["slow.test"] }
        // The other job runs to its result while the slow document is still arriving.
        try await rig.runner.handle(Self.message(Self.job, offset: 1))
        #expect(rig.provider.createSources == ["url"])
        #expect(try rig.result(0).jobID == "job-1")
        arrive.finish()
        try await slowJob.value
        let sources = rig.provider.createSources
        #expect(sources.count == 2)
        let copy = try #require(sources.last)
        #expect(copy != "url", "the slow job uploaded its fetched copy")
        #expect(!FileManager.default.fileExists(atPath: copy), "and the copy is gone after its create")
    }

    @Test("a job settled by another pod meanwhile is republished from the ledger, not created")
    func settledElsewhere() async throws {
        let rig = try await Rig(passThrough: true)
        _ = try await rig.ledger.accept(jobID: "job-1", fingerprint: "x", at: Date())
        _ = try await rig.ledger.fail(jobID: "job-1", resultMessage: Array(#"{"job_id":"job-1","status":"failed"}"#.utf8), at: Date())
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.isEmpty)
        #expect(rig.results.count == 1)
    }

    @Test("a record without a job id goes to the dead-letter topic only; the value is kept")
    func rejectedWithoutJobID() async throws {
        let rig = try await Rig(passThrough: true)
        try await rig.runner.handle(Self.message("not json at all"))
        #expect(rig.results.isEmpty)
        #expect(rig.deadLetters.count == 1)
        #expect(rig.deadLetters[0].value == Array("not json at all".utf8))
    }

    @Test("extreme record timestamps never trap: the dead letter leaves out what does not fit")
    func hostileTimestamps() async throws {
        let rig = try await Rig(passThrough: true)
        for (i, date) in [Date.distantFuture, Date(timeIntervalSince1970: 1e300), Date(timeIntervalSince1970: -1e300)].enumerated() {
            try await rig.runner.handle(Self.message("{}", offset: Int64(i), timestamp: date))
        }
        #expect(rig.deadLetters.count == 3)
    }

    @Test("a valid job stamped at the far end of Int64 milliseconds, with provider dates far off, gets its result without those times")
    func hostileTimesInResults() async throws {
        let rig = try await Rig(passThrough: true)
        rig.provider.scriptQueries(
            "t1",
            [
                .success(
                    .init(
                        taskID: "t1", state: .success, progress: 100, file: "https://r/t1.txt",
                        createdAt: UnixTimestamp(seconds: 999_999_999_999_999), completedAt: UnixTimestamp(seconds: -999_999_999_999_999)))
            ])
        try await rig.runner.handle(Self.message(Self.job, timestamp: Date(timeIntervalSince1970: 9_223_372_036_854_775.807)))
        let result = try rig.result()
        #expect(result.status == .succeeded)
        #expect(result.timings.enqueuedAt == nil)
        #expect(result.timings.taskCreatedAt == nil)
    }

    @Test("a live foreign create claim is awaited and its task polled: no second task")
    func foreignClaimAwaited() async throws {
        let rig = try await Rig(passThrough: true)
        // Another driver claimed the create just now and records its task later.
        _ = try await rig.ledger.accept(jobID: "job-1", fingerprint: Self.fingerprint, at: Date())
        let theirs = try await rig.ledger.claimCreate(jobID: "job-1", expectedCreateAttempts: 0, at: Date())
        let ledger = rig.ledger
        // The other driver records its task while this one waits for the claim (its
        // first wait), long before the claim could be taken over.
        rig.timer.onWait { number in
            if number == 1 {
                _ = try await ledger.recordTask(jobID: "job-1", taskID: "theirs", createAttempts: theirs.createAttempts, at: Date())
            }
        }
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.isEmpty)
        #expect(try rig.result().taskID == "theirs")
    }

    @Test("a result the broker refuses as too large: a stub dead letter with result_too_large, the row marked published")
    func resultTooLarge() async throws {
        let rig = try await Rig(passThrough: true)
        rig.publisher.refusals.withLock { $0["ocr.results"] = 10 }
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.results.isEmpty)
        let stub = try #require(rig.deadLetters.first)
        #expect(rig.deadLetters.count == 1)
        #expect(stub.value?.isEmpty != false, "a stub carries no value")
        #expect(stub.headers.contains { $0.key == "ocr.error.code" && $0.value == Array("result_too_large".utf8) })
        let row = try #require(try await rig.ledger.record(jobID: "job-1"))
        #expect(row.publishedAt != nil)
        #expect(rig.provider.createCalls.count == 1)
    }

    @Test("a results topic we may not write: the job is dead-lettered at once, not retried as a whole")
    func resultsTopicUnwritable() async throws {
        let rig = try await Rig(passThrough: true)
        rig.publisher.refusals.withLock { $0["ocr.results"] = 29 }
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.results.isEmpty)
        #expect(rig.deadLetters.count == 1)
        #expect(rig.provider.createCalls.count == 1, "the job is not driven again")
        #expect(rig.timer.elapsed < .seconds(5), "only the first poll wait, no whole-job retries (1 + 2 + 3 + 4 s)")
        #expect(rig.runner.health.fatalReason == nil)
    }

    @Test("neither the result nor the dead letter can be written: the pod reports fatal instead of stalling")
    func nothingWritable() async throws {
        let rig = try await Rig(passThrough: true)
        rig.publisher.refusals.withLock { $0 = ["ocr.results": 29, "ocr.jobs.dlq": 29] }
        await #expect(throws: PermanentDependencyFailure.self) { try await rig.runner.handle(Self.message(Self.job)) }
        #expect(rig.runner.health.fatalReason != nil)
    }

    @Test("a stale foreign claim (a crash's) is taken over after the claim timeout")
    func staleClaimTakenOver() async throws {
        let rig = try await Rig(passThrough: true)
        _ = try await rig.ledger.accept(jobID: "job-1", fingerprint: Self.fingerprint, at: Date())
        _ = try await rig.ledger.claimCreate(jobID: "job-1", expectedCreateAttempts: 0, at: Date().addingTimeInterval(-120))
        try await rig.runner.handle(Self.message(Self.job))
        #expect(rig.provider.createCalls.count == 1)
        #expect(try rig.result().attempts.creates == 2)
    }
}
