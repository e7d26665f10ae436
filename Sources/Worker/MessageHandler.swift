public import Kafka

/// Takes one job message to a checkpoint: its result or dead letter is published.
///
/// ``JobConsumerLoop`` commits a message's offset only after `handle` returned. A
/// handler retries its own transient failures and returns only at a checkpoint; it
/// throws only `CancellationError`, when the loop cancels it because the partition was
/// revoked or the drain timeout passed. The next owner of the partition then reads the
/// message again and resumes from the ledger.
public protocol MessageHandler: Sendable {
    func handle(_ message: KafkaConsumerMessage) async throws
}
