import JobCore
import Kafka
import OCRClient
import Synchronization
import Worker

struct BrokerDown: Error {}

/// Keeps what the runner published, by topic.
final class RecordingPublisher: ResultPublisher {
    private let sent = Mutex<[OutgoingRecord]>([])
    /// Sends that fail before the broker takes them (an outage), counted down.
    let failures = Mutex(0)
    /// librdkafka error codes the broker answers for every send to a topic (a permanent
    /// refusal: 10 too large, 29 not authorized).
    let refusals = Mutex<[String: Int32]>([:])

    func publish(_ message: OutgoingRecord) async throws {
        if let code = refusals.withLock({ $0[message.topic] }) {
            throw KafkaError(code: .init(rawValue: code), message: "refused", operation: "produce to \(message.topic)")
        }
        if failures.withLock({ f -> Bool in
            guard f > 0 else { return false }
            f -= 1
            return true
        }) {
            throw BrokerDown()
        }
        sent.withLock { $0.append(message) }
    }

    func messages(on topic: String) -> [OutgoingRecord] { sent.withLock { $0.filter { $0.topic == topic } } }
}

/// A provider gate that is always open and records what it was told.
final class RecordingGate: ProviderGate {
    private let outcomes = Mutex<[String]>([])
    func waitUntilUsable() async throws {}
    func recordSuccess() { outcomes.withLock { $0.append("ok") } }
    func record(_ failure: ProviderFailure) { outcomes.withLock { $0.append(failure.action.name) } }
    var recorded: [String] { outcomes.withLock { $0 } }
}
