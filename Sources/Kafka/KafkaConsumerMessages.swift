/// The messages of a ``KafkaConsumer``, in partition order, as an `AsyncSequence`.
///
/// The sequence ends when the consumer is closed. Iterate it from one task.
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage

    let stream: AsyncStream<KafkaConsumerMessage>
    /// Tells the consumer a buffered message was taken, so it can resume fetching.
    let taken: @Sendable () -> Void

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<KafkaConsumerMessage>.AsyncIterator
        let taken: @Sendable () -> Void

        public mutating func next() async -> KafkaConsumerMessage? {
            let message = await base.next()
            if message != nil { taken() }
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), taken: taken)
    }
}
