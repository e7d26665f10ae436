public import Foundation

/// A record delivered to the application by ``KafkaConsumer``.
public struct KafkaConsumerMessage: Sendable, Hashable {
    public enum TimestampType: Sendable, Hashable {
        case createTime
        case logAppendTime
    }

    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Null when the producer sent no key.
    public var key: [UInt8]?
    /// Null for a tombstone.
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// The record's timestamp, when the broker or producer set one.
    public var timestamp: Date?
    public var timestampType: TimestampType?

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Date? = nil,
        timestampType: TimestampType? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.timestampType = timestampType
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// The offset to commit once this message is fully processed (the next one to read).
    public var nextOffset: TopicPartitionOffset {
        TopicPartitionOffset(topicPartition, offset: offset + 1)
    }

    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }
}
