public import JobContract
public import PollPlanning

/// What ``JobRunner`` does and where it publishes.
public struct JobSettings: Sendable, Hashable {
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
    /// Today's schedule, and the planner's cold start.
    public var pollBackoff: PollBackoff
    /// The poll planner (learned durations; `OCR_POLL_PLAN_*`).
    public var pollPlanning: PollPlanSettings
    /// Publish the provider's URL instead of rehosting the file (no result store).
    public var passThrough: Bool
    /// How long the provider's result URL stays valid (PicWish: 1 hour).
    public var resultURLLifetime: Duration
    /// Bounds retries of our own dependencies (ledger, broker, result store) per step.
    public var dependencyRetryDelay: Duration
    /// A driver inside a create call renews its claim in the ledger every third of this;
    /// a `creating` claim not renewed for this long was left by a crash, and another
    /// driver takes it over (the one window for a second task). Until then a driver
    /// finding the job `creating` waits for the task id instead of creating a second
    /// task (a rebalance overlap: the previous owner's create still runs). Compared
    /// across pods by wall clock, so it must exceed their clock skew by a margin.
    public var createClaimTimeout: Duration
    /// Create calls a pod runs at once. Each one in flight is a task a crash could orphan
    /// (the provider accepted it, the ledger never heard): with 1, a crash costs at most
    /// one extra task. Raise it only when creates are slow (large uploads) and the extra
    /// tasks a crash may cost are acceptable.
    public var maxConcurrentCreates: Int
    /// Documents fetched at once ahead of their creates (to be uploaded): each holds a
    /// file of up to the document limit while it waits for the create permit.
    public var maxConcurrentSourceFetches: Int
    /// The largest job record value accepted; a larger one is dead-lettered (as a stub,
    /// without its value) unread. Keys and headers have fixed caps (JobDecoder).
    public var maxRecordBytes: Int
    /// How long a send to a topic the broker does not know (deleted, misnamed, never
    /// created with auto-creation off) is retried before it counts as permanent: the job
    /// is then dead-lettered. A topic being created shows up within seconds.
    public var unknownTopicDeadline: Duration
    /// The key `ocr.replay` signatures are checked with (`OCR_REPLAY_KEY`,
    /// ``ReplaySignature``); nil: no record reopens a failed job.
    public var replayKey: [UInt8]?

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
        dependencyRetryDelay: Duration = .seconds(1),
        createClaimTimeout: Duration = .seconds(30),
        maxConcurrentCreates: Int = 1,
        maxConcurrentSourceFetches: Int = 4,
        maxRecordBytes: Int = JobDecoder.defaultMaxValueBytes,
        pollPlanning: PollPlanSettings = PollPlanSettings(),
        unknownTopicDeadline: Duration = .seconds(120),
        replayKey: [UInt8]? = nil
    ) {
        self.replayKey = replayKey
        self.pollPlanning = pollPlanning
        self.unknownTopicDeadline = unknownTopicDeadline
        self.maxRecordBytes = maxRecordBytes
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
        self.createClaimTimeout = createClaimTimeout
        self.maxConcurrentCreates = maxConcurrentCreates
        self.maxConcurrentSourceFetches = maxConcurrentSourceFetches
    }
}
