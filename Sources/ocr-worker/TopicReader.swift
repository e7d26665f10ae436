import Foundation
import Kafka
import Logging
import Synchronization
import WorkerApp

/// Reads a topic for the command-line tools, as a consumer group of its own that never
/// commits (so it disturbs no worker): either everything up to the end the topic had
/// when reading began, or new records until a condition holds.
struct TopicReader {
    let client: KafkaClientConfiguration
    let topic: String
    let logger: Logger

    private func consumer() throws -> KafkaConsumer {
        try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: client, groupID: "ocr-worker-tool-\(UUID().uuidString.prefix(8))", offsetReset: .earliest,
                sessionTimeout: .seconds(6), heartbeatInterval: .seconds(1), closeTimeout: .seconds(5)),
            logger: logger)
    }

    /// Every record up to the topic's end as of now.
    func snapshot(timeout: Duration = .seconds(30)) async throws -> [KafkaConsumerMessage] {
        let consumer = try consumer()
        try consumer.subscribe(topics: [topic])
        defer { Task { await consumer.close() } }
        let deadline = ContinuousClock.now + timeout
        while consumer.assignment.isEmpty {
            guard ContinuousClock.now < deadline else { throw ValidationFailure("no partitions of \(topic) were assigned within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let ends = try await consumer.highWatermarks(Array(consumer.assignment)).filter { $0.value > 0 }
        if ends.isEmpty { return [] }
        let collected: [KafkaConsumerMessage]? = try await withTimeout(deadline) {
            var remaining = ends
            var records: [KafkaConsumerMessage] = []
            for await m in consumer.messages {
                records.append(m)
                if let end = remaining[m.topicPartition], m.offset >= end - 1 { remaining.removeValue(forKey: m.topicPartition) }
                if remaining.isEmpty { break }
            }
            return records
        }
        guard let collected else { throw ValidationFailure("reading \(topic) did not reach its end within \(timeout)") }
        return collected.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    /// Reads from the beginning, handing each record to `onRecord`, until it returns true.
    func follow(timeout: Duration, onRecord: @escaping @Sendable (KafkaConsumerMessage) -> Bool) async throws -> Bool {
        let consumer = try consumer()
        try consumer.subscribe(topics: [topic])
        defer { Task { await consumer.close() } }
        let done: Bool? = try await withTimeout(.now + timeout) {
            for await m in consumer.messages where onRecord(m) { return true }
            return false
        }
        return done ?? false
    }
}

/// Runs `body` until `deadline`; nil when the deadline came first (`body` is cancelled).
func withTimeout<T: Sendable>(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try? await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
