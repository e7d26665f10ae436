import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Producer and consumer against the real broker", .serialized, .tags(.broker))
struct ProducerConsumerTests {
    @Test("keys, headers and a null value make the round trip unchanged")
    func roundTrip() async throws {
        let topic = TestKafka.uniqueTopic("roundtrip")
        try await TestKafka.createTopic(topic, partitions: 1)
        let producer = try TestKafka.producer()

        let sent = [
            KafkaProducerMessage(
                topic: topic,
                key: "job-1",
                value: #"{"job_id":"job-1"}"#,
                headers: [KafkaHeader(key: "traceparent", value: "00-abc-def-01"), KafkaHeader(key: "empty", value: nil)]
            ),
            KafkaProducerMessage(topic: topic, key: "job-2", value: nil), // a tombstone
            KafkaProducerMessage(
                topic: topic, key: nil, value: "no key", headers: [KafkaHeader(key: "h", value: "1"), KafkaHeader(key: "h", value: "2")]),
        ]
        var reports: [KafkaDeliveryReport] = []
        for m in sent { reports.append(try await producer.send(m)) }
        #expect(reports.map(\.offset) == [0, 1, 2])
        #expect(reports.allSatisfy { $0.topic == topic && $0.partition == 0 })

        let consumer = try KafkaConsumer(
            configuration: try TestKafka.consumerConfiguration(group: TestKafka.uniqueTopic("g")),
            logger: TestKafka.logger
        )
        try consumer.subscribe(topics: [topic])
        let collector = MessageCollector(consumer)
        let got = try await collector.waitFor(count: 3)

        #expect(got.map(\.offset) == [0, 1, 2])
        #expect(got.map(\.keyString) == ["job-1", "job-2", nil])
        #expect(got[0].value == Array(#"{"job_id":"job-1"}"#.utf8))
        #expect(got[0].headers == sent[0].headers)
        #expect(got[1].value == nil, "a tombstone arrives as a nil value")
        #expect(got[2].headers.map(\.stringValue) == ["1", "2"], "repeated header keys keep their order")
        #expect(got.allSatisfy { $0.timestamp != nil && $0.topic == topic })

        await consumer.close()
        await collector.finish()
        await producer.close()
    }

    @Test("offsets committed by explicit list survive a consumer restart")
    func explicitCommitSurvivesRestart() async throws {
        let topic = TestKafka.uniqueTopic("commit")
        let group = TestKafka.uniqueTopic("g")
        try await TestKafka.createTopic(topic, partitions: 2)
        let producer = try TestKafka.producer()
        for i in 0..<20 {
            try await producer.send(KafkaProducerMessage(topic: topic, partition: Int32(i % 2), key: "k\(i)", value: "v\(i)"))
        }

        let first = try KafkaConsumer(configuration: try TestKafka.consumerConfiguration(group: group), logger: TestKafka.logger)
        try first.subscribe(topics: [topic])
        let firstCollector = MessageCollector(first)
        _ = try await firstCollector.waitFor(count: 20)
        // Processed: offsets 0...3 of partition 0 and 0...6 of partition 1.
        let commit = [
            TopicPartitionOffset(topic: topic, partition: 0, offset: 4),
            TopicPartitionOffset(topic: topic, partition: 1, offset: 7),
        ]
        try await first.commit(commit)
        let committed = try await first.committed([TopicPartition(topic: topic, partition: 0), TopicPartition(topic: topic, partition: 1)])
        #expect(committed == [commit[0].topicPartition: 4, commit[1].topicPartition: 7])
        await first.close()
        await firstCollector.finish()

        let second = try KafkaConsumer(configuration: try TestKafka.consumerConfiguration(group: group), logger: TestKafka.logger)
        try second.subscribe(topics: [topic])
        let secondCollector = MessageCollector(second)
        let resumed = try await secondCollector.waitFor(count: 6 + 3)
        let firstOffsets = Dictionary(grouping: resumed, by: \.partition).mapValues { $0.map(\.offset).min()! }
        #expect(firstOffsets == [0: 4, 1: 7], "the new consumer starts exactly after the committed offsets")
        #expect(resumed.count == 9, "nothing before the committed offsets is delivered again")
        await second.close()
        await secondCollector.finish()
        await producer.close()
    }

    @Test("a record larger than message.max.bytes fails its own send and the producer stays usable")
    func deliveryFailureIsASwiftError() async throws {
        let topic = TestKafka.uniqueTopic("toolarge")
        try await TestKafka.createTopic(topic, partitions: 1)
        let producer = try TestKafka.producer { $0.maxMessageBytes = 100_000 }

        let big = KafkaProducerMessage(topic: topic, key: nil, value: [UInt8](repeating: 0x41, count: 200_000))
        await #expect {
            try await producer.send(big)
        } throws: { error in
            (error as? KafkaError)?.code == .messageTooLarge
        }
        let report = try await producer.send(KafkaProducerMessage(topic: topic, key: "after", value: "still works"))
        #expect(report.offset == 0)
        await producer.close()
    }

    @Test("a full local queue is a clear error, not a crash or a wait")
    func queueFullIsAnError() async throws {
        let topic = TestKafka.uniqueTopic("queuefull")
        try await TestKafka.createTopic(topic, partitions: 1)
        // One record fills the queue; the long linger keeps it there.
        let producer = try TestKafka.producer {
            $0.maxQueuedMessages = 1
            $0.linger = .seconds(2)
        }
        @Sendable func outcome(_ key: String) async -> Result<KafkaDeliveryReport, KafkaError> {
            do { return .success(try await producer.send(KafkaProducerMessage(topic: topic, key: key, value: key))) } catch { return .failure(error) }
        }
        async let a = outcome("a")
        async let b = outcome("b")
        let outcomes = await [a, b]
        let delivered = outcomes.filter { if case .success = $0 { true } else { false } }
        let refused = outcomes.compactMap { if case .failure(let e) = $0 { e } else { nil } }
        #expect(delivered.count == 1, "the record that fit in the queue is delivered")
        #expect(refused.map(\.code) == [.queueFull])
        #expect(refused.allSatisfy { $0.isRetriable })
        await producer.close()
    }

    @Test("consumer lag appears in librdkafka statistics")
    func consumerLagFromStatistics() async throws {
        let topic = TestKafka.uniqueTopic("lag")
        try await TestKafka.createTopic(topic, partitions: 1)
        let producer = try TestKafka.producer()
        for i in 0..<10 { try await producer.send(KafkaProducerMessage(topic: topic, key: "\(i)", value: "\(i)")) }

        var configuration = try TestKafka.consumerConfiguration(group: TestKafka.uniqueTopic("g"))
        configuration.client.statisticsInterval = .milliseconds(200)
        let consumer = try KafkaConsumer(configuration: configuration, logger: TestKafka.logger)
        try consumer.subscribe(topics: [topic])
        let collector = MessageCollector(consumer)
        _ = try await collector.waitFor(count: 10)
        try await consumer.commit([TopicPartitionOffset(topic: topic, partition: 0, offset: 4)])
        let partition = TopicPartition(topic: topic, partition: 0)
        try await waitUntil("lag 6 in statistics (have \(String(describing: consumer.statistics?.partitions[partition])))", timeout: .seconds(30)) {
            consumer.statistics?.partitions[partition]?.consumerLag == 6
        }
        #expect(consumer.statistics?.totalConsumerLag == 6)
        await consumer.close()
        await collector.finish()
        await producer.close()
    }
}
