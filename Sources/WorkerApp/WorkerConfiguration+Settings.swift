import Foundation
import JobContract
import OCRClient
public import PollPlanning
public import Worker

extension WorkerConfiguration {
    /// The worker's configuration from `settings`: every number is range-checked, so a
    /// value that would stall the worker (no job in flight, a zero claim timeout, a rate
    /// of zero) stops the start with the setting's name instead.
    public init(_ settings: Settings, version: String) throws {
        let workerID = settings["OCR_WORKER_ID"] ?? ProcessInfo.processInfo.hostName
        var provider = OCRClientConfiguration(
            baseURL: settings.string("OCR_PROVIDER_URL", default: "http://127.0.0.1:8080"),
            apiKey: settings.string("OCR_PROVIDER_API_KEY", default: ""))
        provider.budget.requestsPerSecond = try settings.double("OCR_PROVIDER_RPS", default: 2, in: 0.001...10_000)
        if let policy = settings["OCR_SOURCE_POLICY"] {
            guard let p = SourcePolicy(rawValue: policy) else { throw ValidationFailure("OCR_SOURCE_POLICY must be auto, pass_url or upload") }
            provider.sourcePolicy = p
        }
        provider.allowNonPublicImageURLs = try settings.bool("OCR_ALLOW_PRIVATE_SOURCES", default: false)
        let maxResultBytes = try settings.int("OCR_RESULT_MAX_BYTES", default: 1 << 30, in: 1...Int(Int32.max))
        provider.maxResultBytes = Int64(maxResultBytes)
        provider.resultDownloadTimeout = try settings.seconds("OCR_RESULT_DOWNLOAD_TIMEOUT_SECONDS", default: 900, in: 1...86_400)
        guard !provider.apiKey.isEmpty else { throw ValidationFailure("OCR_PROVIDER_API_KEY is not set") }
        let maxInFlight = try settings.int("OCR_MAX_IN_FLIGHT", default: 64, in: 1...100_000)
        // In 1...Int32.max, so the conversion cannot fail.
        let partitions = Int32(try settings.int("OCR_TOPIC_PARTITIONS", default: 6, in: 1...10_000))
        // -1: no operations endpoints.
        let port = try settings.int("OCR_HTTP_PORT", default: 9464, in: -1...65535)
        let unknownTopicDeadline = try settings.seconds("OCR_UNKNOWN_TOPIC_DEADLINE_SECONDS", default: 120, in: 1...86_400)
        // Read here too, so `check` refuses what `run` would.
        _ = try SharingSettings(settings)
        let replayKey = try settings.replayKey
        self.init(
            kafka: settings.kafka(clientID: "ocr-worker-\(workerID)"),
            groupID: settings.groupID,
            jobsTopic: settings.jobsTopic,
            createTopics: try settings.bool("OCR_CREATE_TOPICS", default: false),
            topicPartitions: partitions,
            // librdkafka's session.timeout.ms bounds, in seconds.
            consumerSessionTimeout: try settings.seconds("OCR_SESSION_TIMEOUT_SECONDS", default: 45, in: 1...3600),
            provider: provider,
            ledgerURL: settings.ledgerURL ?? "sqlite:///var/lib/ocr-worker/ledger.db",
            resultStoreURL: settings.string("OCR_RESULT_STORE_URL", default: "file:///var/lib/ocr-worker/results"),
            processing: JobSettings(
                resultsTopic: settings.resultsTopic, deadLetterTopic: settings.deadLetterTopic, consumerGroup: settings.groupID,
                workerID: workerID, workerVersion: version,
                maxRecreates: try settings.int("OCR_MAX_RECREATES", default: 2, in: 0...100),
                taskTimeout: try settings.seconds("OCR_TASK_TIMEOUT_SECONDS", default: 1800, in: 1...604_800),
                passThrough: try settings.bool("OCR_PASS_THROUGH", default: false),
                createClaimTimeout: try settings.seconds("OCR_CREATE_CLAIM_TIMEOUT_SECONDS", default: 30, in: 1...86_400),
                maxConcurrentCreates: try settings.int("OCR_MAX_CONCURRENT_CREATES", default: 1, in: 1...1024),
                maxConcurrentSourceFetches: try settings.int("OCR_MAX_CONCURRENT_SOURCE_FETCHES", default: 4, in: 1...256),
                maxRecordBytes: try settings.int(
                    "OCR_MAX_RECORD_BYTES", default: JobDecoder.defaultMaxValueBytes, in: 1024...(256 << 20)),
                pollPlanning: try PollPlanSettings(settings, providerURL: provider.baseURL),
                unknownTopicDeadline: unknownTopicDeadline, replayKey: replayKey),
            consumption: ConsumptionSettings(
                maxInFlight: maxInFlight,
                drainTimeout: try settings.seconds("OCR_DRAIN_TIMEOUT_SECONDS", default: 30, in: 0...3600)),
            httpPort: port < 0 ? nil : port,
            httpHost: settings.string("OCR_HTTP_HOST", default: "0.0.0.0"),
            stallLimit: try settings.seconds("OCR_STALL_LIMIT_SECONDS", default: 7200, in: 1...604_800),
            consumerStallLimit: try settings.seconds("OCR_CONSUMER_STALL_SECONDS", default: 120, in: 30...3600))
    }
}

extension PollPlanSettings {
    /// `OCR_POLL_PLAN_*` (docs/poll-planning.md). The provider is keyed by the API host
    /// only: never a path, a query or credentials.
    public init(_ settings: Settings, providerURL: String) throws {
        let defaults = PollPlanSettings()
        let maxLag = try settings.double(
            "OCR_POLL_PLAN_MAX_LAG_SECONDS", default: Double(defaults.maxLag.components.seconds), in: 0.01...86_400)
        self.init(
            enabled: try settings.bool("OCR_POLL_PLAN", default: defaults.enabled),
            provider: URL(string: providerURL)?.host ?? defaults.provider,
            coldStartTasks: try settings.int("OCR_POLL_PLAN_COLD_START_TASKS", default: defaults.coldStartTasks, in: 1...1_000_000),
            doneProbability: try settings.double("OCR_POLL_PLAN_DONE_PROBABILITY", default: defaults.doneProbability, in: 0.01...0.99),
            maxLagFraction: try settings.double("OCR_POLL_PLAN_MAX_LAG_FRACTION", default: defaults.maxLagFraction, in: 0.01...100),
            maxLag: .milliseconds(Int64(maxLag * 1000)),
            // Unset: polls inside a progress step's interval use the done probability.
            progressBoundDoneProbability: settings["OCR_POLL_PLAN_STEP_DONE_PROBABILITY"] == nil
                ? nil
                : try settings.double("OCR_POLL_PLAN_STEP_DONE_PROBABILITY", default: defaults.doneProbability, in: 0.01...0.99))
    }
}
