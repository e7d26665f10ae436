/// What a consumer knows about its own ability to go on, for liveness and readiness.
///
/// librdkafka retries most errors by itself and reports them only as events; two kinds
/// it cannot fix: a *fatal* error (the client instance is unusable) and a refused
/// principal or credentials (an ACL or a secret must change). The poll loop's last turn
/// tells whether the consumer is still served at all: a loop that stopped turning stops
/// heartbeats and rebalances too.
public struct KafkaConsumerHealth: Sendable {
    /// The fatal error librdkafka reported; the consumer cannot be used any more.
    public internal(set) var fatalError: KafkaError?
    /// The latest authorization or authentication failure, until the consumer fetches a
    /// record or gets partitions again.
    public internal(set) var authorizationError: KafkaError?

    public init(fatalError: KafkaError? = nil, authorizationError: KafkaError? = nil) {
        self.fatalError = fatalError
        self.authorizationError = authorizationError
    }

    /// Takes an error event or a failed fetch into account; others change nothing.
    public mutating func record(_ error: KafkaError) {
        if error.isFatal {
            if fatalError == nil { fatalError = error }
        } else if error.isConsumerAuthorizationFailure {
            authorizationError = error
        }
    }

    /// The consumer fetched a record or was given partitions: it is authorized again.
    public mutating func recordProgress() {
        authorizationError = nil
    }

    /// Why the consumer cannot work, if it cannot; nil when it can.
    public var problem: String? {
        if let fatalError { return "Kafka consumer fatal error: \(fatalError)" }
        if let authorizationError { return "Kafka consumer not authorized: \(authorizationError)" }
        return nil
    }
}
