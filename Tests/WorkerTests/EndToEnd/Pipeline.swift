import AsyncHTTPClient
import Foundation
import Kafka
import Logging
import NIOCore
import NIOFoundationCompat
import Synchronization
import TestSupport
import Testing

/// The real pipeline for end-to-end tests: the Tansu broker that scripts/test started,
/// an ocr-server process, the sample documents on a loopback HTTP server, and ocr-worker
/// processes. Everything started here is stopped by ``shutdown()``.
final class Pipeline: Sendable {
    let bootstrap: String
    let root: URL
    let binaries: URL
    let work: URL
    let apiKey = "e2e-key"
    let jobsTopic: String
    let resultsTopic: String
    let deadLetterTopic: String
    let ocrServerPort: Int
    let samplesPort: Int
    private let processes = Mutex<[String: Process]>([:])

    static let logger: Logger = {
        var logger = Logger(label: "e2e")
        logger.logLevel = .warning
        return logger
    }()

    /// `bootstrap`: a broker of the test's own (``PrivateBroker``) instead of the shared one.
    init(name: String, bootstrap: String? = nil) async throws {
        let env = ProcessInfo.processInfo.environment
        guard let bootstrap = bootstrap ?? env["KAFKA_BOOTSTRAP"] else {
            throw PipelineError("KAFKA_BOOTSTRAP is not set: run the tests with scripts/test")
        }
        self.bootstrap = bootstrap
        root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        binaries = URL(fileURLWithPath: env["OCR_TEST_BIN_DIR"] ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        work = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-e2e-\(name)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let suffix = UUID().uuidString.prefix(6).lowercased()
        jobsTopic = "e2e-jobs-\(name)-\(suffix)"
        resultsTopic = "e2e-results-\(name)-\(suffix)"
        deadLetterTopic = "e2e-dlq-\(name)-\(suffix)"
        ocrServerPort = try LoopbackPort.reserve()
        samplesPort = try LoopbackPort.reserve()
        try await KafkaAdmin(client: client(), logger: Self.logger).createTopics([
            .init(name: jobsTopic, partitions: 6), .init(name: resultsTopic, partitions: 6), .init(name: deadLetterTopic, partitions: 6),
        ])
        try start(
            "ocr-server", binaries.appendingPathComponent("ocr-server").path,
            [
                "--host", "127.0.0.1", "--port", "\(ocrServerPort)", "--data-dir", work.appendingPathComponent("ocr-server").path,
            ], environment: ["OCR_SERVER_API_KEYS": apiKey])
        try start(
            "samples", "/usr/bin/env",
            ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root.appendingPathComponent("samples").path, "\(samplesPort)"])
        do {
            try await waitForHTTP("http://127.0.0.1:\(ocrServerPort)/healthz", of: "ocr-server")
            try await waitForHTTP("http://127.0.0.1:\(samplesPort)/clean.png", of: "samples")
        } catch {
            await shutdown()
            throw error
        }
    }

    /// Runs `body` with a fresh pipeline and stops every process it started afterwards,
    /// whether the body succeeded or not.
    static func with(name: String, bootstrap: String? = nil, _ body: (Pipeline) async throws -> Void) async throws {
        let pipeline = try await Pipeline(name: name, bootstrap: bootstrap)
        do {
            try await body(pipeline)
        } catch {
            await pipeline.shutdown()
            throw error
        }
        await pipeline.shutdown()
    }

    func client() -> KafkaClientConfiguration { KafkaClientConfiguration(bootstrapServers: [bootstrap], clientID: "e2e") }

    var ocrServerURL: String { "http://127.0.0.1:\(ocrServerPort)" }
    func sampleURL(_ name: String) -> String { "http://127.0.0.1:\(samplesPort)/\(name)" }

    // MARK: Worker processes

    /// Starts an ocr-worker process; returns its name for ``stop(_:signal:)``.
    @discardableResult
    func startWorker(_ name: String, ledger: String, extra: [String: String] = [:]) async throws -> (name: String, httpPort: Int) {
        let httpPort = try LoopbackPort.reserve()
        var environment = [
            "OCR_KAFKA_BOOTSTRAP": bootstrap, "OCR_PROVIDER_URL": ocrServerURL, "OCR_PROVIDER_API_KEY": apiKey,
            "OCR_JOBS_TOPIC": jobsTopic, "OCR_RESULTS_TOPIC": resultsTopic, "OCR_DLQ_TOPIC": deadLetterTopic,
            "OCR_GROUP_ID": "e2e-\(jobsTopic)", "OCR_LEDGER_URL": ledger,
            "OCR_RESULT_STORE_URL": "file://" + work.appendingPathComponent("results").path,
            "OCR_HTTP_PORT": "\(httpPort)", "OCR_HTTP_HOST": "127.0.0.1", "OCR_WORKER_ID": name,
            "OCR_SESSION_TIMEOUT_SECONDS": "6", "OCR_PROVIDER_RPS": "200", "OCR_LOG_LEVEL": "info",
        ]
        environment.merge(extra) { _, new in new }
        try start(name, binaries.appendingPathComponent("ocr-worker").path, ["run"], environment: environment)
        try await waitForHTTP("http://127.0.0.1:\(httpPort)/healthz", of: name, timeout: .seconds(60))
        return (name, httpPort)
    }

    /// Sends `signal` and waits for the process to exit; returns its exit status and how
    /// long the exit took. `meanwhile` runs right after the signal, while the process
    /// winds down (checks of a draining worker).
    func stop(
        _ name: String, signal: Int32 = SIGTERM, timeout: Duration = .seconds(60),
        meanwhile: (() async throws -> Void)? = nil
    ) async throws -> (status: Int32, took: Duration) {
        guard let process = processes.withLock({ $0.removeValue(forKey: name) }) else { throw PipelineError("no process \(name)") }
        let start = ContinuousClock.now
        kill(process.processIdentifier, signal)
        try await meanwhile?()
        let deadline = start + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw PipelineError("\(name) did not exit within \(timeout) of signal \(signal)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationStatus, ContinuousClock.now - start)
    }

    /// The process id of a running process this pipeline started.
    func pid(of name: String) -> Int32? {
        processes.withLock { $0[name].flatMap { $0.isRunning ? $0.processIdentifier : nil } }
    }

    func log(of name: String) -> String {
        (try? String(contentsOf: work.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    // MARK: Jobs and results

    /// Publishes jobs in order; `partition` puts them all on one partition.
    func publish(_ jobs: [(key: String?, value: String?)], partition: Int32? = nil) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client()), logger: Self.logger)
        for job in jobs {
            try await producer.send(KafkaProducerMessage(topic: jobsTopic, partition: partition, key: job.key, value: job.value))
        }
        await producer.close()
    }

    static func job(_ id: String, url: String, format: String = "txt", extra: [String: Any] = [:]) -> String {
        var object: [String: Any] = ["job_id": id, "source": ["url": url], "format": format, "language": ["English"]]
        object.merge(extra) { _, new in new }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Collects a topic's records from the beginning in the background.
    func collect(_ topic: String) throws -> Collector { try Collector(client: client(), topic: topic) }

    /// Tasks ocr-server created so far (its /stats endpoint).
    func tasksCreated() async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(ocrServerURL)/stats"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        return object?["tasks_created"] as? Int ?? -1
    }

    /// Stops every process (SIGTERM, then SIGKILL after 10 s) and removes the work
    /// directory. Never blocks a thread: Foundation's `waitUntilExit` spins on Linux.
    func shutdown() async {
        let all = processes.withLock { p -> [Process] in
            defer { p = [:] }
            return Array(p.values)
        }
        for p in all where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(10)
        while all.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for p in all where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        if ProcessInfo.processInfo.environment["OCR_TEST_KEEP"] == nil {
            try? FileManager.default.removeItem(at: work)
        }
    }

    // MARK: Helpers

    private func start(_ name: String, _ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let logURL = work.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.withLock { $0[name] = process }
    }

    /// Waits until `url` answers 200. A process that exits meanwhile (a port taken after
    /// all, a bad setting) fails the wait at once, with the end of its log.
    private func waitForHTTP(_ url: String, of name: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2)),
                response.status == .ok
            {
                return
            }
            if pid(of: name) == nil {
                throw PipelineError("\(name) exited before \(url) answered; its log ends:\n\(log(of: name).suffix(2_000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PipelineError("\(url) did not answer within \(timeout); \(name)'s log ends:\n\(log(of: name).suffix(2_000))")
    }
}

struct PipelineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Records of a topic, read from the beginning by a consumer group of its own.
final class Collector: Sendable {
    private let consumer: KafkaConsumer
    private let records = Records()
    private let task: Task<Void, Never>

    final class Records: Sendable {
        let storage = Mutex<[KafkaConsumerMessage]>([])
    }

    init(client: KafkaClientConfiguration, topic: String) throws {
        consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: client, groupID: "e2e-collector-\(UUID().uuidString.prefix(8))", sessionTimeout: .seconds(6),
                heartbeatInterval: .seconds(1), closeTimeout: .seconds(10)),
            logger: Pipeline.logger)
        try consumer.subscribe(topics: [topic])
        let records = self.records
        let consumer = self.consumer
        task = Task {
            for await m in consumer.messages { records.storage.withLock { $0.append(m) } }
        }
    }

    var all: [KafkaConsumerMessage] { records.storage.withLock { $0 } }

    /// Waits until the collector's group has given it the topic's partitions: from then on
    /// it sees a record moments after it is written. A test that acts on what the
    /// collector has seen (stop the broker after the first results) waits for this
    /// before it publishes: joining a group takes seconds, and a collector that joins
    /// late sees every result at once.
    func waitUntilAssigned(partitions: Int, timeout: Duration = .seconds(60)) async throws {
        try await waitUntil("the collector has \(partitions) partitions", timeout: timeout, every: .milliseconds(50)) {
            self.consumer.assignment.count >= partitions
        }
    }

    /// The latest record per key.
    var byKey: [String: KafkaConsumerMessage] {
        all.reduce(into: [:]) { out, m in if let k = m.keyString { out[k] = m } }
    }

    func waitFor(_ description: String, timeout: Duration = .seconds(120), _ condition: ([KafkaConsumerMessage]) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(all) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        if condition(all) { return }
        Issue.record("timed out after \(timeout) waiting for \(description) (have \(all.count) records)")
        throw PipelineError("timed out waiting for \(description)")
    }

    func close() async {
        await consumer.close()
        await task.value
    }
}

extension KafkaConsumerMessage {
    /// The value parsed as a JSON object.
    var json: [String: Any] {
        (value.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) } as? [String: Any]) ?? [:]
    }
}
