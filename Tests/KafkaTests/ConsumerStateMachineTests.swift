import Testing

@testable import Kafka

@Suite("Consumer state machine")
struct ConsumerStateMachineTests {
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    @Test("a full buffer pauses every assigned partition and resumes at half, keeping the application's pauses")
    func bufferBackpressure() {
        var machine = ConsumerStateMachine(bufferedMessagesLimit: 4)
        _ = machine.assigned([p0, p1])
        let paused = machine.pause([p1])
        #expect(paused == .init(pause: [p1]))
        var changes: [ConsumerStateMachine.FetchChange] = []
        for _ in 0..<5 { changes.append(machine.messageBuffered(p0).change) }
        #expect(changes == [.init(), .init(), .init(), .init(pause: [p0]), .init()], "at the high-water mark only what is not paused yet, once")
        changes = []
        for _ in 0..<3 { changes.append(machine.messageTaken(p0, generation: 0).change) }
        #expect(changes == [.init(), .init(), .init(resume: [p0])], "at the low-water mark, but not the partition the application paused")
    }

    @Test("resume while the buffer is full waits for the buffer")
    func resumeDuringBackpressure() {
        var machine = ConsumerStateMachine(bufferedMessagesLimit: 2)
        _ = machine.assigned([p0])
        _ = machine.pause([p0])
        _ = machine.messageBuffered(p0)
        _ = machine.messageBuffered(p0)
        let resumed = machine.resume([p0])
        #expect(resumed.isEmpty)
        let taken = machine.messageTaken(p0, generation: 0)
        #expect(taken.change == .init(resume: [p0]))
    }

    @Test("pausing a partition that is not assigned does nothing; revocation forgets pauses")
    func pauseOnlyOwned() {
        var machine = ConsumerStateMachine(bufferedMessagesLimit: 10)
        let notOwned = machine.pause([p0])
        #expect(notOwned.isEmpty)
        _ = machine.assigned([p0])
        _ = machine.pause([p0])
        machine.revoked([p0])
        #expect(machine.pausedByApplication.isEmpty)
        #expect(machine.assignment.isEmpty)
    }

    @Test("partitions assigned while the buffer is full start paused")
    func assignDuringBackpressure() {
        var machine = ConsumerStateMachine(bufferedMessagesLimit: 1)
        _ = machine.assigned([p0])
        _ = machine.messageBuffered(p0)
        let change = machine.assigned([p1])
        #expect(change == .init(pause: [p1]))
        var fresh = ConsumerStateMachine(bufferedMessagesLimit: 10)
        let normal = fresh.assigned([p0])
        #expect(normal == .init(resume: [p0]), "otherwise assigned partitions are resumed, whatever librdkafka remembered")
    }

    @Test("a message fetched before its partition was revoked is not delivered, even if the partition comes back")
    func staleMessagesDropped() {
        var machine = ConsumerStateMachine(bufferedMessagesLimit: 10)
        _ = machine.assigned([p0, p1])
        let stale = machine.messageBuffered(p0).generation
        let fresh = machine.messageBuffered(p1).generation
        machine.revoked([p0, p1])
        _ = machine.assigned([p0])
        let staleTaken = machine.messageTaken(p0, generation: stale)
        let revokedTaken = machine.messageTaken(p1, generation: fresh)
        #expect(staleTaken.deliver == false, "fetched before the revoke")
        #expect(revokedTaken.deliver == false, "no longer assigned")
        let current = machine.messageBuffered(p0).generation
        let currentTaken = machine.messageTaken(p0, generation: current)
        #expect(currentTaken.deliver)
        #expect(machine.buffered == 0)
    }

    @Test("the poll loop stops only after close began and librdkafka closed, or at the deadline")
    func closeSequence() {
        var machine = ConsumerStateMachine(bufferedMessagesLimit: 1)
        let now = ContinuousClock.now
        #expect(!machine.mayStopPolling(consumerClosed: true, now: now), "not before close()")
        let started = machine.startClosing(deadline: now + .seconds(5))
        let startedAgain = machine.startClosing(deadline: now + .seconds(5))
        #expect(started)
        #expect(!startedAgain, "a second close does not start again")
        #expect(!machine.mayStopPolling(consumerClosed: false, now: now))
        #expect(machine.mayStopPolling(consumerClosed: true, now: now))
        #expect(machine.mayStopPolling(consumerClosed: false, now: now + .seconds(6)), "never hangs past the deadline")
        machine.finishClosing()
        #expect(!machine.acceptsCalls)
    }
}

@Suite("Statistics and configuration")
struct StatisticsAndConfigurationTests {
    @Test("consumer lag is read per partition, unknown and unassigned partitions skipped")
    func statisticsParsing() throws {
        let json = """
            {"name":"c#consumer-1","msg_cnt":3,"topics":{"jobs":{"partitions":{
              "0":{"partition":0,"consumer_lag":7,"hi_offset":10,"committed_offset":3},
              "1":{"partition":1,"consumer_lag":-1,"hi_offset":4,"committed_offset":-1001},
              "-1":{"partition":-1,"consumer_lag":-1}}}}}
            """
        let stats = try #require(KafkaStatistics(json: json))
        #expect(stats.queuedMessages == 3)
        #expect(stats.partitions.count == 1)
        let p0 = try #require(stats.partitions[TopicPartition(topic: "jobs", partition: 0)])
        #expect(p0.consumerLag == 7 && p0.highWatermark == 10 && p0.committedOffset == 3)
        #expect(stats.totalConsumerLag == 7)
        #expect(KafkaStatistics(json: "not json") == nil)
    }

    @Test("pass-through properties win over typed settings, and auto-commit stays off")
    func propertiesPassThrough() {
        var configuration = KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: ["a:1", "b:2"],
                properties: ["security.protocol": "SASL_SSL", "session.timeout.ms": "10000"]
            ),
            groupID: "g"
        )
        #expect(configuration.librdkafkaProperties["partition.assignment.strategy"] == "cooperative-sticky", "the default")
        configuration.assignor = .range
        let p = configuration.librdkafkaProperties
        #expect(p["bootstrap.servers"] == "a:1,b:2")
        #expect(p["security.protocol"] == "SASL_SSL")
        #expect(p["session.timeout.ms"] == "10000")
        #expect(p["partition.assignment.strategy"] == "range")
        #expect(p["enable.auto.commit"] == "false")
        #expect(p["isolation.level"] == "read_committed")
    }

    @Test("secret properties are redacted for printing")
    func redaction() {
        let redacted = KafkaClientConfiguration.redacted([
            "sasl.password": "hunter2", "ssl.key.password": "k", "sasl.username": "svc", "sasl.oauthbearer.client.secret": "s",
        ])
        #expect(redacted["sasl.username"] == "svc")
        #expect(!redacted.values.contains("hunter2") && !redacted.values.contains("k") && !redacted.values.contains("s"))
    }

    @Test("an unknown librdkafka property is refused with its name, not its value")
    func invalidProperty() {
        let client = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:1"], properties: ["no.such.property": "secret-value"])
        #expect {
            _ = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client), logger: TestKafka.logger)
        } throws: { error in
            let e = error as? KafkaError
            return e?.code == .invalidArgument && e!.description.contains("no.such.property") && !e!.description.contains("secret-value")
        }
    }

    @Test("a producer's idempotence is on by default and forced on by a transactional id")
    func producerDefaults() {
        var configuration = KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: ["x:1"]))
        #expect(configuration.librdkafkaProperties["enable.idempotence"] == "true")
        configuration.idempotent = false
        #expect(configuration.librdkafkaProperties["enable.idempotence"] == "false")
        configuration.transactionalID = "tx"
        #expect(configuration.librdkafkaProperties["enable.idempotence"] == "true")
    }
}
