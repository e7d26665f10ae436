import Foundation
import Kafka
import TestSupport
import Testing

@Suite("Transactions against the real broker", .serialized, .tags(.broker))
struct TransactionTests {
    @Test("an aborted transaction is invisible to read_committed, a committed one is visible, and its offsets become the group's")
    func abortAndCommit() async throws {
        let input = TestKafka.uniqueTopic("tx-in")
        let output = TestKafka.uniqueTopic("tx-out")
        let group = TestKafka.uniqueTopic("tx-group")
        try await TestKafka.createTopic(input, partitions: 1)
        try await TestKafka.createTopic(output, partitions: 1)

        let plain = try TestKafka.producer()
        for i in 0..<4 { try await plain.send(KafkaProducerMessage(topic: input, key: "in-\(i)", value: "job \(i)")) }
        let source = try KafkaConsumer(configuration: try TestKafka.consumerConfiguration(group: group), logger: TestKafka.logger)
        try source.subscribe(topics: [input])
        let sourceCollector = MessageCollector(source)
        _ = try await sourceCollector.waitFor(count: 4)
        let inputPartition = TopicPartition(topic: input, partition: 0)

        let tx = try TestKafka.producer { $0.transactionalID = TestKafka.uniqueTopic("tx") }
        try await tx.initTransactions()

        try tx.beginTransaction()
        try await tx.send(KafkaProducerMessage(topic: output, key: "r", value: "aborted"))
        try await tx.sendOffsetsToTransaction([TopicPartitionOffset(inputPartition, offset: 2)], consumer: source)
        try await tx.abortTransaction()
        #expect(try await source.committed([inputPartition]).isEmpty, "an aborted transaction commits no offsets")

        try tx.beginTransaction()
        try await tx.send(KafkaProducerMessage(topic: output, key: "r", value: "committed"))
        try await tx.sendOffsetsToTransaction([TopicPartitionOffset(inputPartition, offset: 4)], consumer: source)
        try await tx.commitTransaction()
        #expect(try await source.committed([inputPartition]) == [inputPartition: 4])

        // read_committed: only the committed record (the aborted one comes first in the
        // partition, so had it been visible it would have arrived first).
        let committedReader = try KafkaConsumer(
            configuration: try TestKafka.consumerConfiguration(group: TestKafka.uniqueTopic("reader")),
            logger: TestKafka.logger
        )
        try committedReader.subscribe(topics: [output])
        let committedCollector = MessageCollector(committedReader)
        func text(_ m: KafkaConsumerMessage) -> String { String(decoding: m.value ?? [], as: UTF8.self) }
        try await waitUntil("the committed record arrives", timeout: .seconds(30)) {
            committedCollector.messages.contains { text($0) == "committed" }
        }
        let visible = committedCollector.messages.map(text)
        #expect(visible.last == "committed")
        if TestKafka.brokerIsTansu {
            // Tansu 0.6.0 sends no aborted-transaction list in its Fetch replies, so no
            // client can drop aborted records (confluent-kafka shows the same). Recorded
            // as a known issue so the test notices the day the broker fixes it.
            withKnownIssue("Tansu 0.6.0 does not report aborted transactions in Fetch replies") {
                #expect(visible == ["committed"])
            }
        } else {
            #expect(visible == ["committed"])
        }

        // read_uncommitted shows the aborted record exists, so the check above can fail.
        var uncommittedConfiguration = try TestKafka.consumerConfiguration(group: TestKafka.uniqueTopic("reader"))
        uncommittedConfiguration.isolationLevel = .readUncommitted
        let uncommittedReader = try KafkaConsumer(configuration: uncommittedConfiguration, logger: TestKafka.logger)
        try uncommittedReader.subscribe(topics: [output])
        let uncommittedCollector = MessageCollector(uncommittedReader)
        let everything = try await uncommittedCollector.waitFor(count: 2)
        #expect(everything.map(text) == ["aborted", "committed"])

        for c in [source, committedReader, uncommittedReader] { await c.close() }
        for c in [sourceCollector, committedCollector, uncommittedCollector] { await c.finish() }
        await tx.close()
        await plain.close()
    }
}
