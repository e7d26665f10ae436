import Kafka
import Testing

@testable import Worker

/// `/healthz`: what makes the worker say it cannot go on.
@Suite("Worker liveness")
struct WorkerLivenessTests {
    static let limit = Duration.seconds(120)

    func problem(fatal: String? = nil, consumer: KafkaConsumerHealth? = KafkaConsumerHealth(), sinceLastPoll: Duration? = .milliseconds(100))
        -> String?
    {
        WorkerLiveness.problem(fatalReason: fatal, consumer: consumer, sinceLastPoll: sinceLastPoll, stallLimit: Self.limit)
    }

    @Test("a consumer that polls and has no errors is alive; so is one not started yet")
    func alive() {
        #expect(problem() == nil)
        #expect(problem(consumer: nil, sinceLastPoll: nil) == nil)
    }

    @Test("a poll loop that stopped turning for longer than the limit fails liveness")
    func stalledPollLoop() {
        #expect(problem(sinceLastPoll: .seconds(119)) == nil)
        #expect(problem(sinceLastPoll: .seconds(121))?.contains("has not polled for 121 s") == true)
    }

    @Test("a fatal consumer error or a refused principal fails liveness; a fetch after an authorization error clears it")
    func consumerErrors() {
        var health = KafkaConsumerHealth()
        health.record(KafkaError(code: .unknownTopicOrPartition, message: "retried by librdkafka", operation: "consume"))
        #expect(problem(consumer: health) == nil, "an error librdkafka retries says nothing")
        health.record(KafkaError(code: .topicAuthorizationFailed, message: "denied", operation: "consume"))
        #expect(problem(consumer: health)?.contains("not authorized") == true)
        health.recordProgress()
        #expect(problem(consumer: health) == nil)
        let fatal = KafkaError(code: .groupAuthorizationFailed, message: "fenced", operation: "client", isFatal: true)
        health.record(fatal)
        health.recordProgress()
        #expect(problem(consumer: health)?.contains("fatal") == true, "a fatal error stays")
    }

    @Test("the worker's own fatal reason comes first")
    func fatalReason() {
        #expect(problem(fatal: "producer fenced", sinceLastPoll: .seconds(500)) == "producer fenced")
    }
}
