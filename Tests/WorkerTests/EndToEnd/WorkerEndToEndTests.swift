import Crypto
import Foundation
import Kafka
import Ledger
import TestSupport
import Testing

/// The real broker, the real ocr-server and real ocr-worker processes.
@Suite("Worker end to end", .serialized, .tags(.e2e, .broker, .tesseract))
struct WorkerEndToEndTests {
    func sqlite(_ pipeline: Pipeline) -> String { "sqlite://" + pipeline.work.appendingPathComponent("ledger.db").path }

    @Test("200 jobs produce exactly 200 results, each file present with the sha256 stated")
    func manyJobs() async throws {
        try await Pipeline.with(name: "many") { pipeline in
            let results = try pipeline.collect(pipeline.resultsTopic)
            try await pipeline.startWorker("worker-1", ledger: sqlite(pipeline))

            let count = 200
            let ids = (0..<count).map { "many-\($0)" }
            let start = ContinuousClock.now
            try await pipeline.publish(ids.map { (key: $0, value: Pipeline.job($0, url: pipeline.sampleURL("clean.png"))) })
            try await results.waitFor("\(count) results", timeout: .seconds(600)) { Set($0.compactMap(\.keyString)).count >= count }
            let elapsed = ContinuousClock.now - start

            let byKey = results.byKey
            #expect(Set(byKey.keys) == Set(ids), "exactly one result key per job")
            for (id, record) in byKey {
                let json = record.json
                #expect(json["status"] as? String == "succeeded", "\(id): \(json)")
                let result = json["result"] as? [String: Any] ?? [:]
                guard let location = (result["location"] as? String).flatMap(URL.init(string:)), location.isFileURL,
                    let data = FileManager.default.contents(atPath: location.path)
                else {
                    Issue.record("\(id): no rehosted file at \(String(describing: result["location"]))")
                    continue
                }
                let sha = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
                #expect(result["sha256"] as? String == sha, "\(id): the file's sha256 is the one stated")
                #expect(result["size_bytes"] as? Int == data.count)
            }
            let tasks = try await pipeline.tasksCreated()
            #expect(tasks == count, "one provider task per job")
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let polls = byKey.values.compactMap { ($0.json["attempts"] as? [String: Any])?["polls"] as? Int }.reduce(0, +)
            // Provider requests per job: creates + polls + one result download each.
            let requests = Double(tasks + polls + count) / Double(count)
            print(
                "e2e: \(count) jobs in \(String(format: "%.1f", seconds)) s = \(String(format: "%.2f", Double(count) / seconds)) jobs/s; \(tasks) tasks created; \(String(format: "%.2f", requests)) provider requests per job (\(polls) polls)"
            )
            await results.close()
        }
    }

    @Test("the same job id published 5 times creates one task and yields the same result content each time")
    func duplicatesCreateOneTask() async throws {
        try await Pipeline.with(name: "dupes") { pipeline in
            let results = try pipeline.collect(pipeline.resultsTopic)
            try await pipeline.startWorker("worker-1", ledger: sqlite(pipeline))
            let before = try await pipeline.tasksCreated()

            let job = Pipeline.job("dup-1", url: pipeline.sampleURL("clean.png"), extra: ["metadata": ["order": 42]])
            try await pipeline.publish(Array(repeating: (key: "dup-1", value: job), count: 5))
            try await results.waitFor("5 results for dup-1") { $0.filter { $0.keyString == "dup-1" }.count >= 5 }
            // Later ones are republished from the ledger: all carry identical bytes.
            let values = Set(results.all.filter { $0.keyString == "dup-1" }.compactMap(\.value))
            #expect(values.count == 1, "republished results carry the same content")
            #expect(try await pipeline.tasksCreated() - before == 1, "one OCR task for five deliveries")
            #expect((results.byKey["dup-1"]?.json["metadata"] as? [String: Any])?["order"] as? Int == 42)
            await results.close()
        }
    }

    @Test("invalid records land in the dead-letter topic with headers that say why; the valid ones around them complete")
    func invalidJobsAreDeadLettered() async throws {
        try await Pipeline.with(name: "invalid") { pipeline in
            let results = try pipeline.collect(pipeline.resultsTopic)
            let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
            // A crash left one invalid record's ledger row `accepted` (after the accept,
            // before its failure was stored): the redelivery must finish the rejection.
            let leftover = Pipeline.job("leftover", url: "ftp://example.invalid/left.png")
            let ledger = try await makeLedger(url: sqlite(pipeline))
            _ = try await ledger.accept(
                jobID: "leftover", fingerprint: "invalid:" + SHA256.hash(data: Array(leftover.utf8)).map { String(format: "%02x", $0) }.joined(),
                at: Date())
            await ledger.close()
            try await pipeline.startWorker("worker-1", ledger: sqlite(pipeline))

            let url = pipeline.sampleURL("clean.png")
            let invalid: [(key: String?, value: String?, code: String)] = [
                ("bad-json", #"{"job_id": "bad-json", "source": "#, "malformed_json"),
                ("no-id", #"{"source": {"url": "\#(url)"}}"#, "missing_job_id"),
                ("bad-url", Pipeline.job("bad-url", url: "ftp://example.invalid/x.png"), "invalid_url"),
                ("langs", Pipeline.job("langs", url: url, extra: ["language": (1...11).map { "L\($0)" }]), "too_many_languages"),
                ("pw", Pipeline.job("pw", url: url, extra: ["password": String(repeating: "p", count: 33)]), "password_too_long"),
                ("fmt", Pipeline.job("fmt", url: url, format: "rtf"), "unknown_format"),
                ("leftover", leftover, "invalid_url"),
            ]
            var records: [(key: String?, value: String?)] = []
            for (i, bad) in invalid.enumerated() {
                records.append((key: "valid-\(i)", value: Pipeline.job("valid-\(i)", url: url)))
                records.append((key: bad.key, value: bad.value))
            }
            try await pipeline.publish(records)

            try await deadLetters.waitFor("\(invalid.count) dead letters") { $0.count >= invalid.count }
            try await results.waitFor("the valid jobs' results") { all in
                (0..<invalid.count).allSatisfy { i in all.contains { $0.keyString == "valid-\(i)" } }
            }
            for bad in invalid {
                guard let letter = deadLetters.all.first(where: { $0.keyString == bad.key }) else {
                    Issue.record("no dead letter for \(bad.key ?? "nil")")
                    continue
                }
                if bad.key == "pw" {
                    // A job's document password never reaches the dead-letter topic: the
                    // copied value drops that member and keeps the rest.
                    let value = letter.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
                    #expect(!value.contains("password") && value.contains(#""job_id":"pw""#), "the value without its password")
                } else {
                    #expect(letter.value.map { String(decoding: $0, as: UTF8.self) } == bad.value, "the original value, unchanged")
                }
                #expect(letter.headers.last(named: "ocr.error.class")?.stringValue == "invalid_job")
                #expect(
                    letter.headers.last(named: "ocr.error.code")?.stringValue == bad.code,
                    "\(bad.key ?? ""): \(letter.headers.last(named: "ocr.error.message")?.stringValue ?? "")")
                #expect(letter.headers.last(named: "kafka_dlt-original-topic")?.stringValue == pipeline.jobsTopic)
                #expect(letter.headers.last(named: "__connect.errors.topic")?.stringValue == pipeline.jobsTopic)
            }
            #expect(
                !deadLetters.all.contains {
                    String(decoding: $0.headers.flatMap { $0.value ?? [] }, as: UTF8.self).contains(String(repeating: "p", count: 33))
                },
                "the password never appears in dead-letter headers")
            for i in 0..<invalid.count { #expect(results.byKey["valid-\(i)"]?.json["status"] as? String == "succeeded") }
            // A rejected job with an id also gets a failed result; one without an id does not.
            #expect(results.byKey["bad-url"]?.json["status"] as? String == "failed")
            #expect(results.byKey["leftover"]?.json["status"] as? String == "failed", "a crash's leftover row still gets its failed result")
            await results.close()
            await deadLetters.close()
        }
    }

    @Test("two workers share a run; one stopped with SIGTERM mid-run exits 0 within its drain timeout; the other finishes everything")
    func sigtermHandsOver() async throws {
        try await Pipeline.with(name: "sigterm") { pipeline in
            let results = try pipeline.collect(pipeline.resultsTopic)
            let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
            let drain = 20
            try await pipeline.startWorker("worker-a", ledger: sqlite(pipeline), extra: ["OCR_DRAIN_TIMEOUT_SECONDS": "\(drain)"])
            try await pipeline.startWorker("worker-b", ledger: sqlite(pipeline))

            let count = 60
            let ids = (0..<count).map { "handover-\($0)" }
            try await pipeline.publish(ids.map { (key: $0, value: Pipeline.job($0, url: pipeline.sampleURL("two-pages.pdf"))) })
            try await results.waitFor("the first results") { $0.count >= 10 }

            let (status, took) = try await pipeline.stop("worker-a", signal: SIGTERM, timeout: .seconds(drain + 30))
            #expect(status == 0, "SIGTERM leads to a clean exit")
            #expect(took < .seconds(drain + 15), "exited within its drain timeout (took \(took))")
            let log = pipeline.log(of: "worker-a")
            #expect(
                log.contains("shutdown requested: draining") && log.contains("consumer closed") && !log.contains("urgent stop"),
                "the graceful path ran (drain, commit, leave), not a cancellation")

            try await results.waitFor("all \(count) results", timeout: .seconds(600)) { Set($0.compactMap(\.keyString)).count >= count }
            #expect(Set(results.byKey.keys) == Set(ids))
            #expect(results.byKey.values.allSatisfy { $0.json["status"] as? String == "succeeded" })
            #expect(deadLetters.all.isEmpty, "nothing dead-lettered")
            #expect(try await pipeline.tasksCreated() == count, "a graceful handover creates no second task for any job")
            await results.close()
            await deadLetters.close()
        }
    }
}
