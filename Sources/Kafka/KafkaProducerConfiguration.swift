/// Configuration of a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable, Hashable {
    public var client: KafkaClientConfiguration
    /// `enable.idempotence`: no duplicates and no reordering from producer retries.
    /// On by default; turning it off is only for brokers that lack the feature.
    public var idempotent: Bool
    /// `transactional.id`: enables ``KafkaProducer/beginTransaction()`` and friends.
    /// Must be stable across restarts of the same logical producer, so that a restarted
    /// instance fences its predecessor.
    public var transactionalID: String?
    /// `linger.ms`: how long to wait to batch records.
    public var linger: Duration
    /// `message.timeout.ms`: how long librdkafka tries to deliver before it reports a
    /// delivery failure.
    public var messageTimeout: Duration
    /// `queue.buffering.max.messages`: beyond this many undelivered records `send`
    /// throws ``KafkaError/Code/queueFull`` instead of blocking.
    public var maxQueuedMessages: Int
    /// `message.max.bytes`: the largest record librdkafka accepts.
    public var maxMessageBytes: Int?

    public init(
        client: KafkaClientConfiguration,
        idempotent: Bool = true,
        transactionalID: String? = nil,
        linger: Duration = .milliseconds(5),
        messageTimeout: Duration = .seconds(60),
        maxQueuedMessages: Int = 100_000,
        maxMessageBytes: Int? = nil
    ) {
        self.client = client
        self.idempotent = idempotent
        self.transactionalID = transactionalID
        self.linger = linger
        self.messageTimeout = messageTimeout
        self.maxQueuedMessages = maxQueuedMessages
        self.maxMessageBytes = maxMessageBytes
    }

    var librdkafkaProperties: [String: String] {
        var p = client.librdkafkaProperties
        p["enable.idempotence"] = idempotent || transactionalID != nil ? "true" : "false"
        if let transactionalID { p["transactional.id"] = transactionalID }
        p["linger.ms"] = String(linger.milliseconds)
        p["message.timeout.ms"] = String(messageTimeout.milliseconds)
        p["queue.buffering.max.messages"] = String(maxQueuedMessages)
        if let maxMessageBytes { p["message.max.bytes"] = String(maxMessageBytes) }
        p["log.queue"] = "true"
        return p.merging(client.properties) { _, passThrough in passThrough }
    }
}
