import Foundation
import Kafka
import Logging
import Synchronization
import TestSupport
import Testing
import Worker

/// ``JobConsumerLoop`` against the real broker (`scripts/test` starts it): how the loop
/// ends. Both tests run one partition with three jobs, the last of which never finishes
/// by itself, so what gets committed shows exactly which jobs reached a checkpoint.
@Suite("Job consumer loop: stopping", .tags(.broker))
struct JobConsumerLoopTests {
    @Test("cancelling run() stops at once: the stuck job is cancelled, finished offsets are committed, run() returns")
    func cancellationIsAnUrgentStop() async throws {
        let fixture = try await Fixture(name: "cancel")
        // A drain timeout no test would wait for: returning quickly proves the urgent path.
        let loop = fixture.loop(drainTimeout: .seconds(3600))
        let (run, ended) = try await fixture.runUntilJobTwoIsStuck(loop)

        run.cancel()
        try await waitUntil(timeout: .seconds(45)) { ended.isMarked }
        #expect(ended.isMarked, "run() returned after its task was cancelled")
        #expect(fixture.handler.cancelled.values == ["job-2"], "the job still running was cancelled, not drained")
        #expect(try await fixture.committedOffset() == 2, "jobs 0 and 1 reached their checkpoint and were committed")
    }

    @Test("stop() drains: a job that finishes within the drain timeout is committed before the group is left")
    func gracefulStopDrains() async throws {
        let fixture = try await Fixture(name: "drain")
        let loop = fixture.loop(drainTimeout: .seconds(60))
        let (_, ended) = try await fixture.runUntilJobTwoIsStuck(loop)

        loop.stop()
        #expect(loop.isStopping)
        #expect(!ended.isMarked, "the drain waits for the job in flight")
        fixture.handler.release()
        try await waitUntil(timeout: .seconds(45)) { ended.isMarked }
        #expect(fixture.handler.cancelled.values.isEmpty, "nothing was cancelled")
        #expect(try await fixture.committedOffset() == 3, "the drained job was committed too")
    }
}

/// A topic with three job messages and the loop's settings.
private struct Fixture {
    let topic: String
    let group: String
    let bootstrap: String
    let handler = GatedHandler(gatedKey: "job-2")
    let logger: Logger = {
        var logger = Logger(label: "consumer-loop-tests")
        logger.logLevel = .warning
        return logger
    }()

    init(name: String) async throws {
        guard let bootstrap = ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP"], !bootstrap.isEmpty else {
            throw PipelineError("KAFKA_BOOTSTRAP is not set: run the tests with scripts/test")
        }
        self.bootstrap = bootstrap
        let suffix = UUID().uuidString.prefix(8).lowercased()
        topic = "loop-\(name)-\(suffix)"
        group = "loop-\(name)-\(suffix)"
        try await KafkaAdmin(client: client, logger: logger).createTopics([.init(name: topic, partitions: 1)])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: logger)
        for i in 0..<3 {
            _ = try await producer.send(KafkaProducerMessage(topic: topic, partition: 0, key: "job-\(i)", value: "{}"))
        }
        await producer.close()
    }

    var client: KafkaClientConfiguration { KafkaClientConfiguration(bootstrapServers: [bootstrap], clientID: "loop-tests") }

    var consumer: KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(
            client: client, groupID: group, sessionTimeout: .seconds(6), heartbeatInterval: .seconds(1), closeTimeout: .seconds(15))
    }

    func loop(drainTimeout: Duration) -> JobConsumerLoop {
        JobConsumerLoop(
            consumer: consumer, topics: [topic], handler: handler,
            settings: ConsumptionSettings(maxInFlight: 8, commitInterval: .seconds(3600), drainTimeout: drainTimeout),
            logger: logger)
    }

    /// Runs the loop in a task of its own until jobs 0 and 1 finished and job 2 hangs;
    /// `ended` turns true when `run()` returns.
    func runUntilJobTwoIsStuck(_ loop: JobConsumerLoop) async throws -> (run: Task<Void, any Error>, ended: Ended) {
        let run = Task { try await loop.run() }
        let ended = Ended()
        Task {
            _ = await run.result
            ended.mark()
        }
        try await waitUntil(timeout: .seconds(60)) { handler.started.values.count == 3 && handler.finished.values.count == 2 }
        return (run, ended)
    }

    /// The group's committed offset of the topic's one partition (-1 if none).
    func committedOffset() async throws -> Int64 {
        var c = consumer
        c.client.clientID = "loop-tests-reader"
        let reader = try KafkaConsumer(configuration: c, logger: logger)
        let partition = TopicPartition(topic: topic, partition: 0)
        let offsets = try await reader.committed([partition])
        await reader.close()
        return offsets[partition] ?? -1
    }
}

/// Finishes every job at once except the gated one, which waits for ``release()`` or
/// its cancellation.
private final class GatedHandler: MessageHandler {
    let gatedKey: String
    let started = OrderRecorder()
    let finished = OrderRecorder()
    let cancelled = OrderRecorder()
    private let gate = Mutex<(open: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    init(gatedKey: String) { self.gatedKey = gatedKey }

    func handle(_ message: KafkaConsumerMessage) async throws {
        let key = message.keyString ?? ""
        started.append(key)
        if key == gatedKey {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow = gate.withLock { g -> Bool in
                        if g.open || Task.isCancelled { return true }
                        g.waiter = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                self.open()
            }
            if Task.isCancelled {
                cancelled.append(key)
                throw CancellationError()
            }
        }
        finished.append(key)
    }

    func release() { open() }

    private func open() {
        gate.withLock { g -> CheckedContinuation<Void, Never>? in
            g.open = true
            defer { g.waiter = nil }
            return g.waiter
        }?.resume()
    }
}

private final class Ended: Sendable {
    private let flag = Atomic<Bool>(false)
    func mark() { flag.store(true, ordering: .releasing) }
    var isMarked: Bool { flag.load(ordering: .acquiring) }
}
