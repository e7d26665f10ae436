import Foundation

/// The figures the worker uses from librdkafka's statistics JSON
/// (`statistics.interval.ms`, see librdkafka's STATISTICS.md).
public struct KafkaStatistics: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        /// Messages between the consumer's position and the partition's end
        /// (`consumer_lag`); nil when librdkafka does not know it yet.
        public var consumerLag: Int64?
        /// The partition's high watermark (`hi_offset`).
        public var highWatermark: Int64?
        /// The group's committed offset for this partition (`committed_offset`).
        public var committedOffset: Int64?
    }

    public var partitions: [TopicPartition: Partition]
    /// Records produced but not yet delivered (`msg_cnt`), for producers.
    public var queuedMessages: Int

    /// The sum of known lags over assigned partitions.
    public var totalConsumerLag: Int64 {
        partitions.values.reduce(Int64(0)) { sum, partition in
            let (total, overflow) = sum.addingReportingOverflow(max(0, partition.consumerLag ?? 0))
            return overflow ? .max : total
        }
    }

    /// Parses the JSON librdkafka emits; nil when it is not what librdkafka documents.
    public init?(json: String) {
        guard let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
        queuedMessages = root["msg_cnt"] as? Int ?? 0
        var partitions: [TopicPartition: Partition] = [:]
        for (topic, value) in root["topics"] as? [String: Any] ?? [:] {
            for (_, p) in (value as? [String: Any])?["partitions"] as? [String: Any] ?? [:] {
                guard let p = p as? [String: Any], let number = p["partition"] as? Int, let id = Int32(exactly: number), id >= 0
                else { continue }
                func known(_ key: String) -> Int64? {
                    guard let v = p[key] as? Int64 ?? (p[key] as? Int).map(Int64.init), v >= 0 else { return nil }
                    return v
                }
                // librdkafka lists partitions it only knows from metadata too; a partition
                // this client does not consume has consumer_lag -1 and is skipped.
                guard let lag = known("consumer_lag") else { continue }
                partitions[TopicPartition(topic: topic, partition: id)] = Partition(
                    consumerLag: lag,
                    highWatermark: known("hi_offset"),
                    committedOffset: known("committed_offset")
                )
            }
        }
        self.partitions = partitions
    }
}
