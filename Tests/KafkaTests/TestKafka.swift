import Foundation
import Kafka
import Logging
import Synchronization
import TestSupport
import Testing

/// The broker the integration tests use: the one `scripts/test` started (Tansu on a
/// loopback port), named by `KAFKA_BOOTSTRAP`.
enum TestKafka {
    static var bootstrap: String {
        get throws {
            guard let value = ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP"], !value.isEmpty else {
                throw TestSetupError(
                    "KAFKA_BOOTSTRAP is not set: run the tests with scripts/test, or start a broker with "
                        + "`scripts/kafka-broker start` and export KAFKA_BOOTSTRAP=<its address>"
                )
            }
            return value
        }
    }

    /// Set by scripts/test. Tansu 0.6.0 lacks one Kafka feature that a test checks (see
    /// TransactionTests); with any other broker that check is strict.
    static var brokerIsTansu: Bool {
        ProcessInfo.processInfo.environment["KAFKA_BROKER_KIND"] == "tansu"
    }

    static let logger: Logger = {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = .warning
        return logger
    }()

    static func client(_ clientID: String = "kafka-tests") throws -> KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: [try bootstrap], clientID: clientID)
    }

    /// A topic name no other test uses.
    static func uniqueTopic(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func createTopic(_ name: String, partitions: Int32) async throws {
        try await KafkaAdmin(client: try client(), logger: logger)
            .createTopics([.init(name: name, partitions: partitions)])
    }

    /// Consumer settings that make group joins quick on the test broker: with librdkafka's
    /// default 45 s session a join takes about 23 s there, with 6 s about 3 s.
    static func consumerConfiguration(group: String, clientID: String = "kafka-tests") throws -> KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(
            client: try client(clientID),
            groupID: group,
            sessionTimeout: .seconds(6),
            heartbeatInterval: .seconds(1),
            maxPollInterval: .seconds(30),
            closeTimeout: .seconds(15)
        )
    }

    static func producer(_ configure: (inout KafkaProducerConfiguration) -> Void = { _ in }) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(client: try client())
        configure(&configuration)
        return try KafkaProducer(configuration: configuration, logger: logger)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Drains a consumer's messages in the background into a list the test can inspect.
/// (An `AsyncStream` ends for good when an iterating task is cancelled, so tests read
/// through one long-lived task instead of one per expectation.)
final class MessageCollector: Sendable {
    private let task: Task<Void, Never>
    private let receivedBox: Received

    init(_ consumer: KafkaConsumer, onMessage: @escaping @Sendable (KafkaConsumerMessage) -> Void = { _ in }) {
        let received = Received()
        self.task = Task {
            for await message in consumer.messages {
                onMessage(message)
                received.append(message)
            }
        }
        self.receivedBox = received
    }

    var messages: [KafkaConsumerMessage] { receivedBox.all }
    var count: Int { receivedBox.all.count }

    func waitFor(count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaConsumerMessage] {
        try await waitUntil("\(count) messages (have \(self.count))", timeout: timeout) { self.count >= count }
        return messages
    }

    /// Waits for the sequence to end (after the consumer closed).
    func finish() async { await task.value }
}

final class Received: Sendable {
    private let storage = Mutex<[KafkaConsumerMessage]>([])
    func append(_ m: KafkaConsumerMessage) { storage.withLock { $0.append(m) } }
    var all: [KafkaConsumerMessage] { storage.withLock { $0 } }
}
