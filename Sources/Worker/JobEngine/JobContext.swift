import JobContract
import Kafka
import Logging

extension JobRunner {
    /// What a job's effects need to know of it: the decoded job, its Kafka record and a
    /// logger carrying the job's metadata.
    ///
    /// The job and its record sit in one immutable heap object and the context carries
    /// a reference to it: contexts are copied into every effect and live across a job's
    /// waits, and each copy held inline (hundreds of bytes for the job and the record)
    /// took room in the job's async frames, once per job in flight.
    struct JobContext: Sendable {
        private let input: Input
        var logger: Logger

        init(job: Job, message: KafkaConsumerMessage, logger: Logger) {
            input = Input(job: job, message: message)
            self.logger = logger
        }

        var job: Job { input.job }
        var message: KafkaConsumerMessage { input.message }
        var traceparent: String? { message.headers.last(named: "traceparent")?.stringValue }

        private final class Input: Sendable {
            let job: Job
            let message: KafkaConsumerMessage

            init(job: Job, message: KafkaConsumerMessage) {
                self.job = job
                self.message = message
            }
        }
    }
}
