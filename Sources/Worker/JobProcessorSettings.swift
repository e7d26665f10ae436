/// What ``JobProcessor`` does and where it publishes.
public struct JobProcessorSettings: Sendable, Hashable {
    public var resultsTopic: String
    public var deadLetterTopic: String
    /// The consumer group, recorded in dead-letter headers.
    public var consumerGroup: String
    public var workerID: String
    public var workerVersion: String
    /// Re-creates allowed after the first task (states -1, -2, -8, a lost task, a task
    /// past its own deadline) before the job fails as `provider_failed`.
    public var maxRecreates: Int
    /// How long one provider task may take before it counts as timed out (re-create).
    public var taskTimeout: Duration
    public var pollBackoff: PollBackoff
    /// Publish the provider's URL instead of rehosting the file (no result store).
    public var passThrough: Bool
    /// How long the provider's result URL stays valid (PicWish: 1 hour).
    public var resultURLLifetime: Duration
    /// Bounds retries of our own dependencies (ledger, broker, result store) per step.
    public var dependencyRetryDelay: Duration

    public init(
        resultsTopic: String = "ocr.results",
        deadLetterTopic: String = "ocr.jobs.dlq",
        consumerGroup: String = "ocr-worker",
        workerID: String,
        workerVersion: String,
        maxRecreates: Int = 2,
        taskTimeout: Duration = .seconds(30 * 60),
        pollBackoff: PollBackoff = PollBackoff(),
        passThrough: Bool = false,
        resultURLLifetime: Duration = .seconds(3600),
        dependencyRetryDelay: Duration = .seconds(1)
    ) {
        self.resultsTopic = resultsTopic
        self.deadLetterTopic = deadLetterTopic
        self.consumerGroup = consumerGroup
        self.workerID = workerID
        self.workerVersion = workerVersion
        self.maxRecreates = maxRecreates
        self.taskTimeout = taskTimeout
        self.pollBackoff = pollBackoff
        self.passThrough = passThrough
        self.resultURLLifetime = resultURLLifetime
        self.dependencyRetryDelay = dependencyRetryDelay
    }
}
