/// Configuration of a ``KafkaConsumer`` in a consumer group.
///
/// Auto-commit is always off: the application commits explicit offsets when its work
/// reached a checkpoint (``KafkaConsumer/commit(_:)``).
public struct KafkaConsumerConfiguration: Sendable, Hashable {
    /// The partition assignment strategy (`partition.assignment.strategy`).
    ///
    /// Eager strategies revoke every partition at each rebalance and assign anew; the
    /// cooperative one moves only the partitions that change owner. The wrapper handles
    /// both protocols (assign/unassign vs. incremental assign/unassign). The default is
    /// cooperative: with long jobs in flight, an eager rebalance makes every member drain
    /// and commit all its partitions whenever one member joins or leaves.
    public enum Assignor: String, Sendable, Hashable {
        case range = "range"
        case roundRobin = "roundrobin"
        case cooperativeSticky = "cooperative-sticky"
    }

    /// Where to start when the group has no committed offset (`auto.offset.reset`).
    public enum OffsetReset: String, Sendable, Hashable {
        case earliest, latest, error
    }

    /// `isolation.level`: whether records of open or aborted transactions are delivered.
    public enum IsolationLevel: String, Sendable, Hashable {
        case readCommitted = "read_committed"
        case readUncommitted = "read_uncommitted"
    }

    public var client: KafkaClientConfiguration
    public var groupID: String
    /// Static membership (`group.instance.id`): a restarted member with the same id gets
    /// its partitions back without a rebalance, within `session.timeout.ms`.
    public var groupInstanceID: String?
    public var assignor: Assignor
    public var offsetReset: OffsetReset
    public var isolationLevel: IsolationLevel
    /// `session.timeout.ms`: how long the coordinator waits for heartbeats before it
    /// evicts this member. librdkafka's default is 45 s.
    public var sessionTimeout: Duration
    /// `heartbeat.interval.ms`; keep it well below a third of the session timeout.
    public var heartbeatInterval: Duration
    /// `max.poll.interval.ms`: the longest the application may go without polling.
    /// The wrapper's poll loop never stops, so long tasks never trip it.
    public var maxPollInterval: Duration
    /// How many fetched messages may wait in the wrapper's buffer for the application
    /// before the wrapper pauses fetching (it resumes at half of it). Pausing here keeps
    /// memory bounded while librdkafka is still polled, so the member stays in its group.
    public var bufferedMessagesLimit: Int
    /// The longest ``KafkaConsumer/close()`` waits for the revoke hook and leaving the
    /// group before it tears the client down anyway.
    public var closeTimeout: Duration
    /// The longest a rebalance hook may run before the revoke completes without it.
    public var rebalanceHookTimeout: Duration

    public init(
        client: KafkaClientConfiguration,
        groupID: String,
        groupInstanceID: String? = nil,
        assignor: Assignor = .cooperativeSticky,
        offsetReset: OffsetReset = .earliest,
        isolationLevel: IsolationLevel = .readCommitted,
        sessionTimeout: Duration = .seconds(45),
        heartbeatInterval: Duration = .seconds(3),
        maxPollInterval: Duration = .seconds(300),
        bufferedMessagesLimit: Int = 1000,
        closeTimeout: Duration = .seconds(30),
        rebalanceHookTimeout: Duration = .seconds(30)
    ) {
        self.client = client
        self.groupID = groupID
        self.groupInstanceID = groupInstanceID
        self.assignor = assignor
        self.offsetReset = offsetReset
        self.isolationLevel = isolationLevel
        self.sessionTimeout = sessionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.maxPollInterval = maxPollInterval
        self.bufferedMessagesLimit = bufferedMessagesLimit
        self.closeTimeout = closeTimeout
        self.rebalanceHookTimeout = rebalanceHookTimeout
    }

    var librdkafkaProperties: [String: String] {
        var p = client.librdkafkaProperties
        p["group.id"] = groupID
        if let groupInstanceID { p["group.instance.id"] = groupInstanceID }
        p["partition.assignment.strategy"] = assignor.rawValue
        p["auto.offset.reset"] = offsetReset.rawValue
        p["isolation.level"] = isolationLevel.rawValue
        p["session.timeout.ms"] = String(sessionTimeout.milliseconds)
        p["heartbeat.interval.ms"] = String(heartbeatInterval.milliseconds)
        p["max.poll.interval.ms"] = String(maxPollInterval.milliseconds)
        // The application commits explicit offsets; librdkafka must neither commit on its
        // own nor advance stored offsets behind the application's back.
        p["enable.auto.commit"] = "false"
        p["enable.auto.offset.store"] = "false"
        // Messages are handed out through librdkafka's queue (rd_kafka_queue_poll), and
        // its logs come through the same queue instead of a C callback.
        p["log.queue"] = "true"
        p["enable.partition.eof"] = "false"
        return p.merging(client.properties) { _, passThrough in passThrough }
    }
}
