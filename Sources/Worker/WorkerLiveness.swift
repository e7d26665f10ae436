public import Kafka

/// Why the process cannot go on, for `/healthz`: one rule over what the worker and its
/// consumer report, so the probe and the tests read the same verdict.
///
/// - a fatal error of the producer or the consumer (librdkafka cannot recover the
///   instance: the process exits and is restarted with fresh clients);
/// - the consumer's principal or credentials refused (an ACL or a secret must change;
///   a restart picks up a rotated secret);
/// - a consumer poll loop that stopped turning for `stallLimit` (it serves heartbeats
///   and rebalances too, so the member is lost to its group anyway).
public enum WorkerLiveness {
    public static func problem(
        fatalReason: String?, consumer: KafkaConsumerHealth?, sinceLastPoll: Duration?, stallLimit: Duration
    ) -> String? {
        if let fatalReason { return fatalReason }
        if let problem = consumer?.problem { return problem }
        if let sinceLastPoll, sinceLastPoll > stallLimit {
            return "the Kafka consumer has not polled for \(sinceLastPoll.components.seconds) s (limit \(stallLimit.components.seconds) s)"
        }
        return nil
    }
}
