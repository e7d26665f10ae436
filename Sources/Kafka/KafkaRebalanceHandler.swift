/// What a consumer group member is told when partitions move, and when.
///
/// Both closures run on the consumer's poll loop, which waits for them:
/// - `onRevoke` runs *before* the revoke completes: the partitions are still owned, and
///   offsets committed from it (``KafkaConsumer/commit(_:)``) are honoured by the group.
///   Stop starting work for those partitions, cancel or finish what is in flight, commit,
///   then return. If `lost` is true the partitions were already taken away (session
///   timeout, fencing): commits will fail and should not be attempted.
/// - `onAssign` runs right after the partitions were assigned; pausing them there
///   (``KafkaConsumer/pause(_:)``) keeps all but the first fetched batch from arriving.
/// Each is bounded by ``KafkaConsumerConfiguration/rebalanceHookTimeout``. Pausing a
/// partition does not survive its revocation: re-pause in `onAssign` when needed.
public struct KafkaRebalanceHandler: Sendable {
    public var onAssign: @Sendable (_ partitions: [TopicPartition]) async -> Void
    public var onRevoke: @Sendable (_ partitions: [TopicPartition], _ lost: Bool) async -> Void

    public init(
        onAssign: @escaping @Sendable (_ partitions: [TopicPartition]) async -> Void = { _ in },
        onRevoke: @escaping @Sendable (_ partitions: [TopicPartition], _ lost: Bool) async -> Void = { _, _ in }
    ) {
        self.onAssign = onAssign
        self.onRevoke = onRevoke
    }
}
