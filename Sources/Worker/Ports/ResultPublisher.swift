public import Kafka

/// Where results and dead letters go: the Kafka producer, or a recording fake in tests.
/// `send` returns once the broker acknowledged the record.
public protocol ResultPublisher: Sendable {
    func publish(_ message: KafkaProducerMessage) async throws
}

extension KafkaProducer: ResultPublisher {
    public func publish(_ message: KafkaProducerMessage) async throws {
        _ = try await send(message)
    }
}
