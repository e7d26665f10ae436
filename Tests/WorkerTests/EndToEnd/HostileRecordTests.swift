import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

/// Records the team did not write, through the real broker and a real worker process.
@Suite("Hostile records end to end", .serialized, .tags(.e2e, .broker, .tesseract))
struct HostileRecordTests {
    /// Produces records with an independent client (confluent-kafka), which can set what
    /// our own producer never sends: timestamps at the ends of their range, huge headers,
    /// keys that are not UTF-8. Everything goes to partition 0, so one committed offset
    /// tells whether the worker moved past all of them.
    static let producer = #"""
        import json, sys
        from confluent_kafka import Producer
        bootstrap, topic, url = sys.argv[1:4]
        p = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 4000000})
        def job(i):
            return json.dumps({"job_id": f"hostile-{i}", "source": {"url": url}, "language": ["English"]})
        records = [
            # (key, value, headers, timestamp ms)
            (b"good-0", json.dumps({"job_id": "good-0", "source": {"url": url}, "language": ["English"]}), None, 0),
            (b"hostile-0", job(0), None, 2**63 - 1),            # the far end of CreateTime
            (b"hostile-1", job(1), None, 1),                    # 1970
            (b"\xff\xfe\x80bad-utf8", "not json", None, 0),     # a key that is not UTF-8, no job id
            (b"hostile-3", job(3), [("big", b"x" * 300000)], 0),  # a 300 KB header: over the cap
            (b"hostile-6", "x" * 2000000, None, 0),             # a 2 MB value: over the cap
            (b"hostile-4", b"\xff\xfe{" * 10, None, 0),         # a value that is not UTF-8
            (b"hostile-5", "{" * 100000, None, 0),              # deeply nested
            (b"good-1", json.dumps({"job_id": "good-1", "source": {"url": url}, "language": ["English"]}), None, 0),
        ]
        for key, value, headers, ts in records:
            kwargs = {"key": key, "value": value, "partition": 0}
            if headers: kwargs["headers"] = headers
            if ts: kwargs["timestamp"] = ts
            p.produce(topic, **kwargs)
        if p.flush(60) != 0:
            sys.exit("not all records were delivered")
        print(len(records))
        """#

    @Test(
        "good records around hostile ones: each good one gets its result, each hostile one a result or a dead letter, the worker keeps running, the offset passes them all"
    )
    func hostileRecords() async throws {
        try await Pipeline.with(name: "hostile") { pipeline in
            let results = try pipeline.collect(pipeline.resultsTopic)
            let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
            let ledger = "sqlite://" + pipeline.work.appendingPathComponent("ledger.db").path
            let worker = try await pipeline.startWorker("worker-1", ledger: ledger)

            let python = pipeline.root.appendingPathComponent(".tools/venv/bin/python").path
            let produce = Process()
            produce.executableURL = URL(fileURLWithPath: python)
            produce.arguments = ["-c", Self.producer, pipeline.bootstrap, pipeline.jobsTopic, pipeline.sampleURL("clean.png")]
            let output = Pipe()
            produce.standardOutput = output
            try produce.run()
            while produce.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            #expect(produce.terminationStatus == 0)
            let count =
                Int(
                    String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                ) ?? 0
            #expect(count == 9)

            let hostileKeys = ["hostile-0", "hostile-1", "hostile-3", "hostile-4", "hostile-5", "hostile-6"]
            try await results.waitFor("both good jobs' results") { all in
                ["good-0", "good-1"].allSatisfy { key in all.contains { $0.keyString == key } }
            }
            // Every hostile record ends as a result (it was a valid job) or a dead letter.
            try await results.waitFor("an outcome for every hostile record", timeout: .seconds(120)) { all in
                let dead = deadLetters.all
                return hostileKeys.allSatisfy { key in all.contains { $0.keyString == key } || dead.contains { $0.keyString == key } }
                    && dead.contains { $0.key?.starts(with: [0xFF, 0xFE, 0x80]) == true }
            }
            for key in ["good-0", "good-1", "hostile-0", "hostile-1"] {
                #expect(results.byKey[key]?.json["status"] as? String == "succeeded", "\(key)")
            }
            // Records over the caps are dead-lettered unread, as stubs without their value.
            for key in ["hostile-3", "hostile-6"] {
                let letter = deadLetters.all.first { $0.keyString == key }
                #expect(letter?.headers.last(named: "ocr.error.code")?.stringValue == "record_too_large", "\(key)")
                #expect(letter?.headers.last(named: "ocr.dlq.stub")?.stringValue == "value_dropped", "\(key)")
                #expect(letter?.value?.isEmpty ?? true, "\(key)")
            }
            // The worker never exited, and it is healthy.
            let health = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(worker.httpPort)/healthz"), timeout: .seconds(5))
            #expect(health.status == .ok)
            #expect(!pipeline.log(of: "worker-1").contains("Fatal error"))
            // Its committed offset moved past every record.
            try await pipeline.waitForCommittedOffset(group: "e2e-\(pipeline.jobsTopic)", partition: 0, atLeast: Int64(count))
            await results.close()
            await deadLetters.close()
        }
    }
}

extension Pipeline {
    /// Waits until `group` committed at least `offset` on the jobs topic's `partition`,
    /// asked with an independent client.
    func waitForCommittedOffset(group: String, partition: Int, atLeast offset: Int64, timeout: Duration = .seconds(60)) async throws {
        let script = """
            import sys
            from confluent_kafka import Consumer, TopicPartition
            c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2]})
            tp = c.committed([TopicPartition(sys.argv[3], int(sys.argv[4]))], timeout=10)[0]
            print(tp.offset)
            c.close()
            """
        let python = root.appendingPathComponent(".tools/venv/bin/python").path
        let deadline = ContinuousClock.now + timeout
        var last: Int64 = -1
        while ContinuousClock.now < deadline {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-c", script, bootstrap, group, jobsTopic, "\(partition)"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            last =
                Int64(
                    String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                ) ?? -1
            if last >= offset { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        Issue.record("committed offset of \(group) on partition \(partition) is \(last), expected at least \(offset)")
    }
}
