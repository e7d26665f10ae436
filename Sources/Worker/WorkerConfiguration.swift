public import Kafka
public import OCRClient

/// Everything the worker needs to run, after flags, environment and file were merged.
public struct WorkerConfiguration: Sendable {
    public var kafka: KafkaClientConfiguration
    public var groupID: String
    public var jobsTopic: String
    /// Create the three topics at start when they do not exist (development, tests).
    public var createTopics: Bool
    public var topicPartitions: Int32
    public var consumerSessionTimeout: Duration
    public var provider: OCRClientConfiguration
    /// `sqlite:///path`, `sqlite::memory:` or `postgres://user@host:port/db`.
    public var ledgerURL: String
    /// `file:///dir` or `s3://bucket/prefix?...`; ignored in pass-through mode.
    public var resultStoreURL: String
    public var processing: JobSettings
    public var consumption: ConsumptionSettings
    /// Port of `/healthz`, `/readyz`, `/metrics` (0 picks a free one; nil disables).
    public var httpPort: Int?
    public var httpHost: String
    /// How often a paused provider is probed.
    public var providerProbeInterval: Duration
    /// A job running longer than this is stalled: `/readyz` fails and
    /// `ocr_jobs_stalled` counts it. Keep it above the longest life the rules allow
    /// (task timeout x (re-creates + 1), plus the provider's queueing).
    public var stallLimit: Duration
    /// A consumer poll loop that has not turned for this long is stuck: `/healthz` fails
    /// so that the pod is restarted (its heartbeats and rebalances have stopped too).
    public var consumerStallLimit: Duration

    public init(
        kafka: KafkaClientConfiguration,
        groupID: String = "ocr-worker",
        jobsTopic: String = "ocr.jobs",
        createTopics: Bool = false,
        topicPartitions: Int32 = 6,
        consumerSessionTimeout: Duration = .seconds(45),
        provider: OCRClientConfiguration,
        ledgerURL: String,
        resultStoreURL: String,
        processing: JobSettings,
        consumption: ConsumptionSettings = ConsumptionSettings(),
        httpPort: Int? = 9464,
        httpHost: String = "0.0.0.0",
        providerProbeInterval: Duration = .seconds(5),
        stallLimit: Duration = .seconds(7200),
        consumerStallLimit: Duration = .seconds(120)
    ) {
        self.stallLimit = stallLimit
        self.consumerStallLimit = consumerStallLimit
        self.kafka = kafka
        self.groupID = groupID
        self.jobsTopic = jobsTopic
        self.createTopics = createTopics
        self.topicPartitions = topicPartitions
        self.consumerSessionTimeout = consumerSessionTimeout
        self.provider = provider
        self.ledgerURL = ledgerURL
        self.resultStoreURL = resultStoreURL
        self.processing = processing
        self.consumption = consumption
        self.httpPort = httpPort
        self.httpHost = httpHost
        self.providerProbeInterval = providerProbeInterval
    }

    /// The longest a graceful stop can take when every step uses its whole timeout: the
    /// drain, the wait for cancelled jobs, leaving the group, flushing the producer, plus
    /// a margin. Longer means a defect; the service group then escalates.
    public var maximumStopDuration: Duration {
        consumption.drainTimeout + consumption.revokeTimeout + consumer.closeTimeout + WorkerService.producerFlushTimeout + .seconds(10)
    }

    var consumer: KafkaConsumerConfiguration {
        var c = KafkaConsumerConfiguration(
            client: kafka, groupID: groupID, sessionTimeout: consumerSessionTimeout,
            heartbeatInterval: min(.seconds(3), consumerSessionTimeout / 4))
        c.client.statisticsInterval = c.client.statisticsInterval ?? .seconds(5)
        c.rebalanceHookTimeout = consumption.revokeTimeout + .seconds(10)
        // No point buffering far more than the jobs that may run.
        c.bufferedMessagesLimit = max(16, consumption.maxInFlight)
        return c
    }
}
