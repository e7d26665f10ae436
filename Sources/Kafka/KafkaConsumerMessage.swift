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
    /// The record's timestamp, when the broker or producer set one. A hostile producer
    /// can set any non-negative `Int64` milliseconds, so this can lie millions of years
    /// ahead: convert it with checked arithmetic only.
    public var timestamp: Date?
    /// The same timestamp exactly as the record holds it, in milliseconds since the epoch
    /// (`nil` when ``timestamp`` is): what dead-letter headers copy, without a round trip
    /// through `Date`.
    public var timestampMilliseconds: Int64?
    public var timestampType: TimestampType?

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Date? = nil,
        timestampType: TimestampType? = nil,
        timestampMilliseconds: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.timestampMilliseconds = timestamp == nil ? nil : timestampMilliseconds
    }

    /// librdkafka's timestamp (milliseconds; -1 or any negative value for none) as this
    /// type holds it: the date, the exact milliseconds, and the type. Never traps.
    public static func timestamp(milliseconds: Int64, type: TimestampType?) -> (date: Date, milliseconds: Int64, type: TimestampType)? {
        guard milliseconds >= 0, let type else { return nil }
        return (Date(timeIntervalSince1970: Double(milliseconds) / 1000), milliseconds, type)
    }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// The offset to commit once this message is fully processed (the next one to read).
    public var nextOffset: TopicPartitionOffset {
        TopicPartitionOffset(topicPartition, offset: offset + 1)
    }

    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }
}
