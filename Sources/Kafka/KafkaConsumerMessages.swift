/// The messages of a ``KafkaConsumer``, in partition order, as an `AsyncSequence`.
///
/// The sequence ends when the consumer is closed. Iterate it from one task.
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage

    /// A message as buffered, with the partition generation it was fetched in.
    struct Fetched: Sendable {
        var message: KafkaConsumerMessage
        var generation: UInt64
    }

    let stream: AsyncStream<Fetched>
    /// Tells the consumer a buffered message was taken (so it can resume fetching) and
    /// answers whether to deliver it: messages fetched before their partition was revoked
    /// are dropped here, never handed to the application after the revoke hook ran.
    let taken: @Sendable (Fetched) -> Bool

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<Fetched>.AsyncIterator
        let taken: @Sendable (Fetched) -> Bool

        public mutating func next() async -> KafkaConsumerMessage? {
            while let fetched = await base.next() {
                if taken(fetched) { return fetched.message }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), taken: taken)
    }
}
