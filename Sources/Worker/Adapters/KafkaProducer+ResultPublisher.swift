public import JobCore
public import Kafka

extension KafkaProducer: ResultPublisher {
    /// Sends the record and returns once the broker acknowledged it.
    public func publish(_ record: OutgoingRecord) async throws {
        _ = try await send(KafkaProducerMessage(record))
    }
}

extension KafkaProducerMessage {
    /// The job engine's outgoing record as a Kafka message.
    public init(_ record: OutgoingRecord) {
        self.init(
            topic: record.topic, key: record.key, value: record.value,
            headers: record.headers.map { KafkaHeader(key: $0.key, value: $0.value) })
    }
}

extension KafkaHeader {
    /// A consumed record's header as an outgoing one (dead letters copy them).
    public var outgoing: OutgoingRecord.Header { .init(key: key, value: value) }
}
