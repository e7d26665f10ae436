import AsyncHTTPClient
import Foundation
import Kafka
import NIOCore
import NIOFoundationCompat
import TestSupport
import Testing

/// Faults of our own dependencies (issue 9, item 6), through real processes: a broker
/// that stops answering, a results topic that cannot be written, a ledger that goes away
/// between a create and its record. Faults that would disturb other suites (a stopped
/// broker, a stopped PostgreSQL) get an instance of their own; the tests run in parallel.
@Suite("Broker and ledger faults end to end", .tags(.e2e, .broker, .tesseract))
struct BrokerFaultTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A unique document name per test run (the provider's scripts are keyed by it).
    func doc(_ stem: String) -> String { "\(stem)-\(UUID().uuidString.prefix(6).lowercased()).png" }

    // MARK: 1. The broker stalls

    @Test(
        "broker stalled for 30 s (SIGSTOP, SIGCONT) with jobs in flight: every job one result, one task per job, the worker never exits and recovers without a restart"
    )
    func brokerStall() async throws {
        try await Service.with("kafka-broker", name: "stall-\(UUID().uuidString.prefix(6).lowercased())") { broker in
            try await Pipeline.with(name: "stall", bootstrap: broker.address) { pipeline in
                try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                    let results = try pipeline.collect(pipeline.resultsTopic)
                    let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                    let count = 24
                    let ids = (0..<count).map { "stall-\($0)" }
                    var documents: [String: String] = [:]
                    for id in ids {
                        documents[id] = doc(id)
                        // A few polls each (about 5 s of provider time), so jobs are in every
                        // phase when the broker stops.
                        provider.script(documents[id]!, .init(runningPolls: 3))
                    }
                    let worker = try await pipeline.startWorker(
                        "worker-1", ledger: "sqlite://" + pipeline.work.appendingPathComponent("ledger.db").path,
                        extra: ["OCR_PROVIDER_URL": provider.baseURL, "OCR_PROVIDER_API_KEY": provider.apiKey])
                    let workerPID = try #require(pipeline.pid(of: "worker-1"))
                    try await waitUntil("the worker is in its group", timeout: .seconds(60)) { await Probe.readyz(worker.httpPort).status == 200 }
                    // The broker is stopped on what the collector has seen: it must see results
                    // as they come, not all at once after a late join.
                    try await results.waitUntilAssigned(partitions: 6)

                    try await pipeline.publish(ids.map { id in (key: id, value: Pipeline.job(id, url: provider.documentURL(documents[id]!))) })
                    // Stop the broker once some jobs are done and others are running.
                    try await results.waitFor("the first results", timeout: .seconds(90)) { Set($0.compactMap(\.keyString)).count >= 3 }
                    let brokerPID = try broker.pid()
                    #expect(kill(brokerPID, SIGSTOP) == 0)
                    let stoppedAt = ContinuousClock.now
                    let doneBefore = Set(results.all.compactMap(\.keyString))
                    let startedBefore = ids.filter { provider.createArrivals(documents[$0]!) > 0 }
                    let inFlight = startedBefore.filter { !doneBefore.contains($0) }
                    let queriesBefore = ids.reduce(0) { $0 + provider.queries(documents[$1]!) }

                    // The stall itself lasts 30 s; meanwhile the worker must stay up.
                    var exitedDuringStall = false
                    while ContinuousClock.now < stoppedAt + .seconds(30) {
                        if pipeline.pid(of: "worker-1") != workerPID { exitedDuringStall = true }
                        try await Task.sleep(for: .milliseconds(500))
                    }
                    let queriesDuringStall = ids.reduce(0) { $0 + provider.queries(documents[$1]!) } - queriesBefore
                    #expect(kill(brokerPID, SIGCONT) == 0)
                    let resumedAt = ContinuousClock.now

                    try await results.waitFor("all \(count) results", timeout: .seconds(120)) { Set($0.compactMap(\.keyString)).count >= count }
                    let recovery = ContinuousClock.now - resumedAt
                    try await waitUntil("/readyz 200 after the stall", timeout: .seconds(60)) { await Probe.readyz(worker.httpPort).status == 200 }

                    #expect(!exitedDuringStall, "the worker exited during the stall")
                    #expect(pipeline.pid(of: "worker-1") == workerPID, "the worker is the same process, still running")
                    #expect(pipeline.log(of: "worker-1").components(separatedBy: "worker starting").count == 2, "started once")
                    #expect(await Probe.healthz(worker.httpPort) == 200)
                    #expect(inFlight.count >= 1, "jobs were in flight when the broker stopped: \(inFlight.count)")

                    // No job lost, one logical result each (a republish would carry the same bytes).
                    let byKey = Dictionary(grouping: results.all.filter { $0.keyString != nil }, by: { $0.keyString! })
                    #expect(Set(byKey.keys) == Set(ids), "every job has a result")
                    for (id, records) in byKey {
                        #expect(Set(records.map { $0.value ?? [] }).count == 1, "\(id): \(records.count) results that differ")
                        #expect(records.first?.json["status"] as? String == "succeeded", "\(id): \(records.first?.json ?? [:])")
                    }
                    // Records in the topic itself (the collector may read some twice after
                    // its own group rejoins): more than the jobs means the worker republished.
                    let published = try await pipeline.recordCount(pipeline.resultsTopic)
                    // No second task: one create per job at the provider.
                    let creates = ids.map { provider.createArrivals(documents[$0]!) }
                    #expect(creates.allSatisfy { $0 == 1 }, "creates per job: \(creates)")
                    #expect(deadLetters.all.isEmpty, "nothing dead-lettered")
                    print(
                        "e2e broker stall: \(count) jobs, \(inFlight.count) in flight at SIGSTOP (\(doneBefore.count) done, \(startedBefore.count) created), \(queriesDuringStall) provider polls during the 30 s stall; \(Set(byKey.keys).count) jobs with results (\(published) records in the topic, \(results.all.count) read by the collector), \(creates.reduce(0, +)) tasks created, \(deadLetters.all.count) dead letters; all results \(recovery) after SIGCONT; worker pid unchanged"
                    )
                    await results.close()
                    await deadLetters.close()
                }
            }
        }
    }

    // MARK: 2. The results topic cannot be written

    @Test("a result over the producer's message.max.bytes: the job is dead-lettered as a stub, the partition keeps moving")
    func resultTooLarge() async throws {
        try await Pipeline.with(name: "toolarge") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                // The result echoes the job's metadata: 8 KB of it makes a result (and a
                // full dead letter) over the 6000 bytes the worker's producer may send;
                // the other jobs' results are about 1 KB.
                let limit = 6000
                let worker = try await pipeline.startWorker(
                    "worker-1", ledger: "sqlite://" + pipeline.work.appendingPathComponent("ledger.db").path,
                    extra: [
                        "OCR_PROVIDER_URL": provider.baseURL, "OCR_PROVIDER_API_KEY": provider.apiKey,
                        "OCR_KAFKA_MESSAGE_MAX_BYTES": "\(limit)",
                    ])
                let ids = ["small-0", "big", "small-1", "small-2"]
                let documents = Dictionary(uniqueKeysWithValues: ids.map { ($0, doc($0)) })
                let jobs = ids.map { id in
                    let extra: [String: Any] = id == "big" ? ["metadata": ["blob": String(repeating: "m", count: 8000)]] : [:]
                    return (id, Pipeline.job(id, url: provider.documentURL(documents[id]!), extra: extra))
                }
                let start = ContinuousClock.now
                // One partition: its committed offset tells whether the worker moved past the big job.
                try await pipeline.publish(jobs.map { (key: $0.0, value: $0.1) }, partition: 0)

                try await deadLetters.waitFor("the big job's dead letter", timeout: .seconds(90)) { $0.contains { $0.keyString == "big" } }
                let deadLetteredAfter = ContinuousClock.now - start
                try await results.waitFor("the small jobs' results", timeout: .seconds(60)) { all in
                    ["small-0", "small-1", "small-2"].allSatisfy { id in all.contains { $0.keyString == id } }
                }
                try await pipeline.waitForCommittedOffset(group: "e2e-\(pipeline.jobsTopic)", partition: 0, atLeast: Int64(jobs.count))

                let letter = try #require(deadLetters.all.first { $0.keyString == "big" })
                #expect(letter.headers.last(named: "ocr.dlq.stub")?.stringValue == "value_dropped")
                #expect(letter.value?.isEmpty ?? true, "the stub carries no value")
                #expect(letter.headers.last(named: "ocr.original.partition")?.stringValue == "0")
                #expect(letter.headers.last(named: "ocr.original.offset")?.stringValue == "1")
                let message = letter.headers.last(named: "ocr.error.message")?.stringValue ?? ""
                #expect(message.contains("too_large") || message.contains("too large"), "the reason says why: \(message)")
                #expect(!results.all.contains { $0.keyString == "big" }, "no result could be published for the big job")
                for id in ["small-0", "small-1", "small-2"] {
                    #expect(results.byKey[id]?.json["status"] as? String == "succeeded", "\(id)")
                }
                #expect(deadLetters.all.count == 1, "only the big job is dead-lettered")
                #expect(await Probe.healthz(worker.httpPort) == 200)
                #expect(pipeline.pid(of: "worker-1") != nil, "the worker never exited")
                print(
                    "e2e result too large: 4 jobs, \(results.all.count) results, \(deadLetters.all.count) dead letter (stub, \(letter.headers.count) headers), \(ids.reduce(0) { $0 + provider.creates(documents[$1]!).count }) tasks created; dead-lettered \(deadLetteredAfter) after publishing; offset 4 committed on partition 0"
                )
                await results.close()
                await deadLetters.close()
            }
        }
    }

    @Test(
        "the results topic deleted: within the stall limit the pod reports not ready or the job is dead-lettered, and it is dead-lettered within the unknown-topic limits; never a silent stall"
    )
    func resultsTopicDeleted() async throws {
        try await Pipeline.with(name: "deleted") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                let stallLimit = 10
                let unknownTopicDeadline = 3
                let worker = try await pipeline.startWorker(
                    "worker-1", ledger: "sqlite://" + pipeline.work.appendingPathComponent("ledger.db").path,
                    extra: [
                        "OCR_PROVIDER_URL": provider.baseURL, "OCR_PROVIDER_API_KEY": provider.apiKey,
                        "OCR_STALL_LIMIT_SECONDS": "\(stallLimit)", "OCR_UNKNOWN_TOPIC_DEADLINE_SECONDS": "\(unknownTopicDeadline)",
                        // What a production deployment has: no topic comes back by itself
                        // because a client asked for it; and a short wait before librdkafka
                        // calls a topic missing (default 30 s).
                        "OCR_KAFKA_ALLOW_AUTO_CREATE_TOPICS": "false", "OCR_KAFKA_TOPIC_METADATA_PROPAGATION_MAX_MS": "1000",
                        // Tansu, unlike Kafka, accepts a produce to a deleted topic from a
                        // client whose metadata still lists it (the record is lost): the
                        // worker refreshes its metadata every second, and the job waits
                        // below until the worker has seen the topic go.
                        "OCR_KAFKA_TOPIC_METADATA_REFRESH_INTERVAL_MS": "1000",
                    ])
                try await waitUntil("the worker is in its group", timeout: .seconds(60)) { await Probe.readyz(worker.httpPort).status == 200 }
                try await pipeline.publish([(key: "before", value: Pipeline.job("before", url: provider.documentURL(doc("before"))))])
                try await results.waitFor("the result of before", timeout: .seconds(60)) { $0.contains { $0.keyString == "before" } }
                await results.close()

                let afterDocument = doc("after")
                provider.hold(afterDocument)
                try await pipeline.publish([(key: "after", value: Pipeline.job("after", url: provider.documentURL(afterDocument)))])
                try await waitUntil("the after job's create", timeout: .seconds(30)) { provider.createArrivals(afterDocument) == 1 }
                try await pipeline.deleteTopic(pipeline.resultsTopic)
                try await waitUntil("the worker's producer sees the results topic gone", timeout: .seconds(30)) {
                    pipeline.log(of: "worker-1").split(separator: "\n").contains {
                        $0.contains(pipeline.resultsTopic) && $0.contains("partition count changed")
                    }
                }
                let start = ContinuousClock.now
                provider.release(afterDocument)

                // Never silent: by the stall limit (plus the 5 s metrics tick and a margin)
                // the job is dead-lettered or /readyz says the pod is stalled.
                var notReadyAfter: Duration?
                var stalledGauge: Double?
                try await waitUntil("a dead letter or /readyz 503 (not_stalled)", timeout: .seconds(stallLimit + 15)) {
                    if deadLetters.all.contains(where: { $0.keyString == "after" }) { return true }
                    let ready = await Probe.readyz(worker.httpPort)
                    if ready.status == 503, ready.body["not_stalled"] as? Bool == false {
                        notReadyAfter = ContinuousClock.now - start
                        return true
                    }
                    return false
                }
                if notReadyAfter != nil {
                    try await waitUntil("ocr_jobs_stalled counts the job", timeout: .seconds(10)) {
                        stalledGauge = await Probe.metric("ocr_jobs_stalled", port: worker.httpPort)
                        return (stalledGauge ?? 0) >= 1
                    }
                }
                // And it does not stay stuck: the job is dead-lettered.
                try await deadLetters.waitFor("the dead letter of after", timeout: .seconds(120)) { $0.contains { $0.keyString == "after" } }
                let deadLetteredAfter = ContinuousClock.now - start
                try await waitUntil("/readyz 200 once the job is out", timeout: .seconds(30)) { await Probe.readyz(worker.httpPort).status == 200 }

                let letter = deadLetters.all.first { $0.keyString == "after" }
                let message = letter?.headers.last(named: "ocr.error.message")?.stringValue ?? ""
                #expect(message.contains("unwritable"), "the reason names the unwritable topic: \(message)")
                #expect(letter?.json["job_id"] as? String == "after", "the full record is copied")
                #expect(deadLetters.all.count == 1, "only the stuck job is dead-lettered")
                #expect(pipeline.pid(of: "worker-1") != nil, "the worker keeps running (the dead-letter topic works)")
                #expect(await Probe.healthz(worker.httpPort) == 200)
                print(
                    "e2e results topic deleted: 2 jobs, 1 result (before), \(deadLetters.all.count) dead letter; /readyz 503 (not_stalled) \(notReadyAfter.map { "\($0)" } ?? "-") (stall limit \(stallLimit) s, ocr_jobs_stalled \(stalledGauge ?? 0)); dead-lettered \(deadLetteredAfter) after its task was created (unknown-topic deadline \(unknownTopicDeadline) s)"
                )
                await deadLetters.close()
            }
        }
    }

    // MARK: 3. The ledger goes away between a create and its record

    @Test(
        "PostgreSQL ledger stopped between the provider's accept of a create and the task id's record, then started again: one task, the job completes"
    )
    func ledgerOutageAfterCreate() async throws {
        try await Service.with("postgres", name: "faults-\(UUID().uuidString.prefix(6).lowercased())") { postgres in
            try await Pipeline.with(name: "ledger-gap") { pipeline in
                try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                    let results = try pipeline.collect(pipeline.resultsTopic)
                    let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                    let document = doc("gap")
                    provider.hold(document)
                    // A short connect timeout: /readyz's ledger ping answers within it.
                    let worker = try await pipeline.startWorker(
                        "worker-1", ledger: postgres.address + "?connect_timeout=2",
                        extra: ["OCR_PROVIDER_URL": provider.baseURL, "OCR_PROVIDER_API_KEY": provider.apiKey])
                    try await pipeline.publish([(key: "gap", value: Pipeline.job("gap", url: provider.documentURL(document)))])

                    // The create reached the provider (its claim is in the ledger); stop the
                    // ledger, then let the provider accept the create.
                    try await waitUntil("the create reaches the provider", timeout: .seconds(60)) { provider.createArrivals(document) == 1 }
                    _ = try await Service.run("postgres", ["pause", postgres.name])
                    let outageStart = ContinuousClock.now
                    provider.release(document)
                    try await waitUntil("the provider answered the create", timeout: .seconds(10)) { provider.creates(document).count == 1 }
                    // The worker holds a task id it cannot record (the write waits for the
                    // pool or fails and is retried); its readiness shows the ledger gone.
                    try await waitUntil("/readyz reports the ledger down", timeout: .seconds(30)) {
                        let ready = await Probe.readyz(worker.httpPort)
                        return ready.status == 503 && ready.body["ledger"] as? Bool == false
                    }
                    #expect(provider.queries(document) == 0, "no poll before the task id is recorded")
                    #expect(provider.createArrivals(document) == 1, "no second create during the outage")
                    _ = try await Service.run("postgres", ["resume", postgres.name])
                    let outage = ContinuousClock.now - outageStart

                    try await results.waitFor("the result of gap", timeout: .seconds(90)) { $0.contains { $0.keyString == "gap" } }
                    let recovered = ContinuousClock.now - outageStart - outage

                    let result = results.byKey["gap"]
                    #expect(result?.json["status"] as? String == "succeeded", "\(result?.json ?? [:])")
                    #expect(provider.createArrivals(document) == 1, "one create request")
                    #expect(provider.creates(document).count == 1, "one task")
                    #expect(result?.json["task_id"] as? String == provider.creates(document).first?.taskID, "the result is the recorded task's")
                    #expect(deadLetters.all.isEmpty)
                    #expect(pipeline.pid(of: "worker-1") != nil, "the worker never exited")
                    #expect(await Probe.healthz(worker.httpPort) == 200)
                    // Failed writes are logged and retried; a write waiting for the pool is not.
                    let retries = pipeline.log(of: "worker-1").components(separatedBy: "record the task id failed").count - 1
                    print(
                        "e2e ledger outage after create: 1 job, \(results.all.count) result, \(deadLetters.all.count) dead letters, \(provider.creates(document).count) task created; ledger down \(outage), \(retries) failed (retried) writes of the task id; result \(recovered) after the ledger was back"
                    )
                    await results.close()
                    await deadLetters.close()
                }
            }
        }
    }

    // MARK: Helpers

    /// A service of a test's own, started with a repository script (`scripts/kafka-broker`
    /// or `scripts/postgres`): `address` is what `start` printed; state is in `.run/`.
    struct Service: Sendable {
        let script: String
        let name: String
        let address: String

        /// Runs `body` with a started service and stops it afterwards, whatever happened.
        static func with(_ script: String, name: String, _ body: (Service) async throws -> Void) async throws {
            let address = try await run(script, ["start", name]).trimmingCharacters(in: .whitespacesAndNewlines)
            let service = Service(script: script, name: name, address: address)
            do {
                try await body(service)
            } catch {
                await service.stop()
                throw error
            }
            await service.stop()
        }

        /// Stops the service; a stopped broker is continued first, so that it can exit.
        func stop() async {
            if script == "kafka-broker", let pid = try? pid() { kill(pid, SIGCONT) }
            _ = try? await Self.run(script, ["stop", name])
            // scripts/postgres removes its state; the broker's (its log) stays only on request.
            if script == "kafka-broker", ProcessInfo.processInfo.environment["OCR_TEST_KEEP"] == nil {
                try? FileManager.default.removeItem(at: BrokerFaultTests.root.appendingPathComponent(".run/broker-\(name)"))
            }
        }

        /// The broker's process id, from the script's state directory.
        func pid() throws -> Int32 {
            let file = BrokerFaultTests.root.appendingPathComponent(".run/broker-\(name)/pid")
            guard let pid = Int32(try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw PipelineError("no pid in \(file.path)")
            }
            return pid
        }

        /// Runs a repository script; its stdout, or an error when it fails.
        ///
        /// Through Python's subprocess, which closes every inherited descriptor but 0-2:
        /// Foundation's `Process` on Linux sees a child end when a socket it hands the
        /// child closes, and the server a script leaves running would inherit and hold it.
        static func run(_ script: String, _ arguments: [String]) async throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments =
                [
                    "python3", "-c", "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)",
                    BrokerFaultTests.root.appendingPathComponent("scripts/\(script)").path,
                ] + arguments
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning {
                guard ContinuousClock.now < deadline else {
                    process.terminate()
                    throw PipelineError("scripts/\(script) \(arguments.joined(separator: " ")) did not finish within 60 s")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            guard process.terminationStatus == 0 else {
                throw PipelineError("scripts/\(script) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
            }
            return text
        }
    }

    /// The worker's operations endpoints.
    enum Probe {
        static func healthz(_ port: Int) async -> Int {
            await get("http://127.0.0.1:\(port)/healthz").status
        }

        static func readyz(_ port: Int) async -> (status: Int, body: [String: Any]) {
            let (status, body) = await get("http://127.0.0.1:\(port)/readyz")
            return (status, (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:])
        }

        /// The value of an unlabelled sample on /metrics.
        static func metric(_ name: String, port: Int) async -> Double? {
            let body = await get("http://127.0.0.1:\(port)/metrics").body
            for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
                return Double(line.dropFirst(name.count + 1))
            }
            return nil
        }

        /// Status and body; status 0 when nothing answered.
        static func get(_ url: String) async -> (status: Int, body: String) {
            do {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 1 << 22)
                return (Int(response.status.code), String(buffer: body))
            } catch {
                return (0, "")
            }
        }
    }
}

extension Pipeline {
    /// Records in a topic: the sum of its partitions' high watermarks, asked with an
    /// independent client.
    func recordCount(_ topic: String) async throws -> Int {
        let script = """
            import sys
            from confluent_kafka import Consumer, TopicPartition
            c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "e2e-count"})
            partitions = c.list_topics(sys.argv[2], timeout=10).topics[sys.argv[2]].partitions
            print(sum(c.get_watermark_offsets(TopicPartition(sys.argv[2], p), timeout=10)[1] for p in partitions))
            c.close()
            """
        let process = Process()
        process.executableURL = root.appendingPathComponent(".tools/venv/bin/python")
        process.arguments = ["-c", script, bootstrap, topic]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0, let count = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw PipelineError("could not count the records of \(topic)")
        }
        return count
    }

    /// Deletes a topic, asked with an independent client (confluent-kafka's admin).
    func deleteTopic(_ topic: String) async throws {
        let script = """
            import sys
            from confluent_kafka.admin import AdminClient
            a = AdminClient({"bootstrap.servers": sys.argv[1]})
            for f in a.delete_topics([sys.argv[2]], operation_timeout=10).values():
                f.result()
            """
        let process = Process()
        process.executableURL = root.appendingPathComponent(".tools/venv/bin/python")
        process.arguments = ["-c", script, bootstrap, topic]
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        guard process.terminationStatus == 0 else { throw PipelineError("could not delete topic \(topic)") }
    }
}
