public import Kafka

/// Which offsets may be committed, per partition, while jobs finish out of order.
///
/// A job's message is *started* when the worker takes it and *finished* when the job
/// reached a checkpoint: its result (or dead letter) is published. The committable
/// offset of a partition is the lowest started-but-unfinished offset, or one past the
/// highest offset seen when nothing is outstanding: everything below it is done, so a
/// restart from there loses nothing and repeats only unfinished work (which the ledger
/// resumes without creating tasks again).
public struct OffsetTracker: Sendable {
    struct Partition: Sendable {
        var outstanding: Set<Int64> = []
        var highestSeen: Int64 = -1
        var firstSeen: Int64?
        var lastCommitted: Int64?

        /// Records taken past the last commit (or since the first one taken, before any
        /// commit): what a crash now would make the next owner read again.
        var uncommitted: Int64 {
            guard highestSeen >= 0, let base = lastCommitted ?? firstSeen else { return 0 }
            let (next, o1) = highestSeen.addingReportingOverflow(1)
            let (lag, o2) = next.subtractingReportingOverflow(base)
            return o1 || o2 ? 0 : max(0, lag)
        }

        var committable: Int64? {
            if let lowest = outstanding.min() { return lowest }
            return highestSeen >= 0 ? highestSeen + 1 : nil
        }
    }

    private var partitions: [TopicPartition: Partition] = [:]

    public init() {}

    /// Jobs started and not yet finished, over all partitions.
    public var inFlight: Int { partitions.values.reduce(0) { $0 + $1.outstanding.count } }

    public func inFlight(in partition: TopicPartition) -> Int { partitions[partition]?.outstanding.count ?? 0 }

    /// Records taken and not yet covered by a commit, over all partitions (the
    /// `ocr_commit_lag` gauge). It grows while a job holds its partition's commits back.
    public var uncommitted: Int64 {
        partitions.values.reduce(0) { total, p in
            let (sum, overflow) = total.addingReportingOverflow(p.uncommitted)
            return overflow ? .max : sum
        }
    }

    public mutating func started(_ partition: TopicPartition, offset: Int64) {
        var p = partitions[partition, default: Partition()]
        p.outstanding.insert(offset)
        p.highestSeen = max(p.highestSeen, offset)
        if p.firstSeen == nil { p.firstSeen = offset }
        partitions[partition] = p
    }

    public mutating func finished(_ partition: TopicPartition, offset: Int64) {
        partitions[partition]?.outstanding.remove(offset)
    }

    /// The offset to commit for `partition` now, if any.
    public func committable(_ partition: TopicPartition) -> Int64? { partitions[partition]?.committable }

    /// Offsets that moved past the last commit, for the given partitions (all when nil).
    public func pendingCommits(for only: Set<TopicPartition>? = nil) -> [TopicPartitionOffset] {
        partitions.compactMap { tp, p in
            guard only?.contains(tp) ?? true, let offset = p.committable, offset != p.lastCommitted else { return nil }
            return TopicPartitionOffset(tp, offset: offset)
        }
        .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    public mutating func committed(_ offsets: [TopicPartitionOffset]) {
        for o in offsets { partitions[o.topicPartition]?.lastCommitted = o.offset }
    }

    /// Forgets partitions this member no longer owns.
    public mutating func remove(_ gone: [TopicPartition]) {
        for p in gone { partitions.removeValue(forKey: p) }
    }
}
