import Foundation
import Kafka
import Synchronization
import TestSupport
import Testing

/// A group member that records what it processed and, in its revoke hook, commits the
/// next offset of every revoked partition it processed: the worker's pattern.
final class RecordingMember: Sendable {
    let consumer: KafkaConsumer
    let collector: MessageCollector
    private let state: State

    final class State: Sendable {
        let consumer = Mutex<KafkaConsumer?>(nil)
        let processed = Mutex<[TopicPartition: Int64]>([:])
        let revokeCommits = Mutex<[TopicPartitionOffset]>([])
        let revocations = Atomic<Int>(0)
    }

    init(topic: String, group: String, name: String, configure: (inout KafkaConsumerConfiguration) -> Void = { _ in }) throws {
        let state = State()
        var configuration = try TestKafka.consumerConfiguration(group: group, clientID: name)
        configure(&configuration)
        let handler = KafkaRebalanceHandler(onRevoke: { partitions, lost in
            state.revocations.add(1, ordering: .relaxed)
            guard !lost, let consumer = state.consumer.withLock({ $0 }) else { return }
            let offsets = state.processed.withLock { processed in
                partitions.compactMap { p in processed[p].map { TopicPartitionOffset(p, offset: $0 + 1) } }
            }
            do {
                try await consumer.commit(offsets)
                state.revokeCommits.withLock { $0.append(contentsOf: offsets) }
            } catch {
                Issue.record("commit in the revoke hook failed: \(error)")
            }
        })
        let consumer = try KafkaConsumer(configuration: configuration, rebalanceHandler: handler, logger: TestKafka.logger)
        state.consumer.withLock { $0 = consumer }
        self.consumer = consumer
        self.state = state
        try consumer.subscribe(topics: [topic])
        collector = MessageCollector(consumer) { message in
            state.processed.withLock { $0[message.topicPartition] = max($0[message.topicPartition] ?? -1, message.offset) }
        }
    }

    var revokeCommits: [TopicPartitionOffset] { state.revokeCommits.withLock { $0 } }
    var revocations: Int { state.revocations.load(ordering: .relaxed) }

    func close() async {
        await consumer.close()
        await collector.finish()
    }
}

@Suite("Consumer groups against the real broker", .serialized, .tags(.broker))
struct ConsumerGroupTests {
    @Test(
        "two members split 6 partitions; when one leaves the other resumes from its revoke-hook commits and nothing is lost",
        arguments: [KafkaConsumerConfiguration.Assignor.cooperativeSticky, .range])
    func splitAndTakeOver(assignor: KafkaConsumerConfiguration.Assignor) async throws {
        let topic = TestKafka.uniqueTopic("split")
        let group = TestKafka.uniqueTopic("g")
        try await TestKafka.createTopic(topic, partitions: 6)
        let producer = try TestKafka.producer()
        func produceRound(_ round: Int) async throws {
            for p in Int32(0)..<6 {
                for i in 0..<5 {
                    try await producer.send(KafkaProducerMessage(topic: topic, partition: p, key: "r\(round)-\(i)", value: "\(round)"))
                }
            }
        }

        let a = try RecordingMember(topic: topic, group: group, name: "member-a") { $0.assignor = assignor }
        try await produceRound(1)
        try await waitUntil("member A owns all 6 partitions", timeout: .seconds(30)) { a.consumer.assignment.count == 6 }
        _ = try await a.collector.waitFor(count: 30)

        let b = try RecordingMember(topic: topic, group: group, name: "member-b") { $0.assignor = assignor }
        try await waitUntil(
            "the partitions are split 3 / 3 (A \(a.consumer.assignment.count), B \(b.consumer.assignment.count))", timeout: .seconds(60)
        ) {
            a.consumer.assignment.count == 3 && b.consumer.assignment.count == 3
        }
        #expect(a.consumer.assignment.isDisjoint(with: b.consumer.assignment))
        #expect(Set(a.revokeCommits.map(\.offset)) == [5], "A committed what it processed before giving partitions up")

        try await produceRound(2)
        try await waitUntil("round 2 consumed", timeout: .seconds(30)) { a.collector.count + b.collector.count == 60 }
        let bFirst = Dictionary(grouping: b.collector.messages, by: \.partition).mapValues { $0.map(\.offset).min()! }
        #expect(bFirst.values.allSatisfy { $0 == 5 }, "B starts its partitions at A's revoke commits: \(bFirst)")

        let aPartitions = a.consumer.assignment
        await a.close()
        let aFinalCommits = Dictionary(a.revokeCommits.map { ($0.topicPartition, $0.offset) }, uniquingKeysWith: { _, last in last })
        #expect(aPartitions.allSatisfy { aFinalCommits[$0] == 10 }, "A's close ran the revoke hook and committed 10 on each of its partitions")

        try await waitUntil("B owns all 6 partitions", timeout: .seconds(60)) { b.consumer.assignment.count == 6 }
        let bBeforeRound3 = b.collector.count
        try await produceRound(3)
        try await waitUntil("round 3 consumed by B", timeout: .seconds(30)) { b.collector.count == bBeforeRound3 + 30 }

        let takenOver = b.collector.messages.dropFirst(bBeforeRound3)
        let firstAfterTakeover = Dictionary(grouping: takenOver, by: \.topicPartition).mapValues { $0.map(\.offset).min()! }
        for p in aPartitions {
            #expect(firstAfterTakeover[p] == 10, "B resumes \(p) exactly at A's commit")
        }
        let all = (a.collector.messages + b.collector.messages).map { "\($0.partition):\($0.offset)" }
        #expect(all.count == 90, "every record delivered once")
        #expect(Set(all).count == 90, "no record lost or duplicated")

        await b.close()
        await producer.close()
    }

    @Test("a paused partition delivers nothing while the member outlives max.poll.interval.ms in its group; resume has no gap")
    func pauseKeepsMembership() async throws {
        let topic = TestKafka.uniqueTopic("pause")
        try await TestKafka.createTopic(topic, partitions: 1)
        let producer = try TestKafka.producer()
        let member = try RecordingMember(topic: topic, group: TestKafka.uniqueTopic("g"), name: "pauser") {
            // librdkafka requires max.poll.interval.ms >= session.timeout.ms.
            $0.maxPollInterval = .seconds(7)
        }
        let partition = TopicPartition(topic: topic, partition: 0)
        for i in 0..<5 { try await producer.send(KafkaProducerMessage(topic: topic, key: "\(i)", value: "before")) }
        _ = try await member.collector.waitFor(count: 5)

        try member.consumer.pause([partition])
        #expect(member.consumer.pausedPartitions == [partition])
        for i in 5..<10 { try await producer.send(KafkaProducerMessage(topic: topic, key: "\(i)", value: "during")) }

        // The one wait in this suite that expects nothing to happen: the pause must hold
        // for longer than max.poll.interval.ms (7 s) without the member being evicted.
        try await Task.sleep(for: .seconds(10))
        #expect(member.collector.count == 5, "no delivery from a paused partition")
        #expect(member.revocations == 0, "the member was not evicted from its group")
        #expect(member.consumer.assignment == [partition])
        // A member evicted from the group could not commit (unknown member / generation).
        try await member.consumer.commit([TopicPartitionOffset(partition, offset: 5)])

        try member.consumer.resume([partition])
        let all = try await member.collector.waitFor(count: 10)
        #expect(all.map(\.offset) == Array(0..<10), "resume continues at offset 5 with no gap and no repeat")
        await member.close()
        await producer.close()
    }

    @Test("static membership: a member with group.instance.id joins and consumes")
    func staticMembership() async throws {
        let topic = TestKafka.uniqueTopic("static")
        try await TestKafka.createTopic(topic, partitions: 2)
        let producer = try TestKafka.producer()
        for p in Int32(0)..<2 { try await producer.send(KafkaProducerMessage(topic: topic, partition: p, key: "k", value: "v")) }
        let member = try RecordingMember(topic: topic, group: TestKafka.uniqueTopic("g"), name: "static") {
            $0.groupInstanceID = "pod-0"
        }
        _ = try await member.collector.waitFor(count: 2)
        #expect(member.consumer.assignment.count == 2)
        await member.close()
        await producer.close()
    }
}
