import PollPlanning
import ArgumentParser
import Foundation
import JSONLogging
import JobContract
import JobCore
import Kafka
import Ledger
import Logging
import OCRClient
import PostgresSupport
import ResultStore
import ServiceLifecycle
import UnixSignals
import Worker

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the worker until SIGTERM or SIGINT (then drain, commit and exit 0).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Consumer group. Env: OCR_GROUP_ID") var group: String?
    @Option(help: "OCR task API base URL. Env: OCR_PROVIDER_URL") var providerURL: String?
    @Option(help: "Requests per second allowed to the provider. Env: OCR_PROVIDER_RPS") var providerRPS: String?
    @Option(help: "Ledger URL: sqlite:///path, sqlite::memory:, postgres://user@host:port/db. Env: OCR_LEDGER_URL") var ledger: String?
    @Option(help: "Result store URL: file:///dir or s3://bucket/prefix?endpoint=... Env: OCR_RESULT_STORE_URL") var resultStore: String?
    @Flag(help: "Publish the provider's result URL instead of rehosting the file. Env: OCR_PASS_THROUGH") var passThrough = false
    @Option(help: "Jobs in flight per pod. Env: OCR_MAX_IN_FLIGHT") var maxInFlight: String?
    @Option(help: "Port of /healthz, /readyz and /metrics. Env: OCR_HTTP_PORT") var httpPort: String?
    @Option(help: "This pod's id in results and dead letters. Env: OCR_WORKER_ID (default: host name)") var workerID: String?
    @Flag(help: "Create the topics at start if they are missing. Env: OCR_CREATE_TOPICS") var createTopics = false
    @Option(help: "Log level (trace, debug, info, notice, warning, error). Env: OCR_LOG_LEVEL") var logLevel: String?

    func run() async throws {
        let settings = try await common.settings([
            "OCR_GROUP_ID": group, "OCR_PROVIDER_URL": providerURL, "OCR_PROVIDER_RPS": providerRPS, "OCR_LEDGER_URL": ledger,
            "OCR_RESULT_STORE_URL": resultStore, "OCR_PASS_THROUGH": passThrough ? "true" : nil,
            "OCR_MAX_IN_FLIGHT": maxInFlight, "OCR_HTTP_PORT": httpPort, "OCR_WORKER_ID": workerID,
            "OCR_CREATE_TOPICS": createTopics ? "true" : nil, "OCR_LOG_LEVEL": logLevel,
        ])
        let logger = JSONLogging.bootstrap(level: settings["OCR_LOG_LEVEL"] ?? "info")
        let metrics = MetricsExport.bootstrap()
        let configuration = try WorkerConfiguration(settings)
        // The dependency environment: PGPASSWORD, OCR_LEDGER_PASSWORD and AWS_* from the
        // process or the --config file.
        let environment = settings.dependencyEnvironment
        let ledgerConfiguration = try LedgerConfiguration(url: configuration.ledgerURL, environment: environment)
        // One PostgreSQL pool for the process: the ledger, the duration store and the
        // shared request budget all use it; it closes after them.
        let postgres = try ledgerConfiguration.postgresOptions.map { try PostgresPool(options: $0, logger: logger) }
        let ledger: any JobLedger
        do {
            ledger = try await makeLedger(ledgerConfiguration, pool: postgres, logger: logger)
        } catch {
            await postgres?.close()
            throw error
        }
        let store: (any ResultStore)? =
            configuration.processing.passThrough
            ? nil : try makeResultStore(ResultStoreConfiguration(url: configuration.resultStoreURL, environment: environment))
        // The poll planner's learned durations outlive restarts in the ledger's database.
        let durationStore =
            try settings.bool("OCR_POLL_PLAN_PERSIST", default: true)
            ? await WorkerService.openDurationStore(ledger: ledgerConfiguration, pool: postgres, logger: logger) : nil
        let worker = try WorkerService(
            configuration: configuration, ledger: ledger, store: store, logger: logger, durationStore: durationStore)
        // Graceful shutdown goes through the services in reverse order: the worker drains,
        // commits and leaves the group first, and the operations endpoints stop last.
        var services: [any Service] = []
        if let port = configuration.httpPort {
            services.append(OperationsServer(host: configuration.httpHost, port: port, worker: worker, metrics: metrics, logger: logger))
        }
        services.append(worker)
        // With a PostgreSQL ledger, pods share one request budget per API key through it.
        var sharedBudget: PostgresRequestBudget?
        if let postgres, try settings.bool("OCR_SHARED_BUDGET", default: true) {
            let fallbackPods = max(1, try settings.int("OCR_PROVIDER_PODS_PER_KEY", default: 1))
            do {
                let store = try await PostgresRequestBudget(pool: postgres)
                sharedBudget = store
                services.append(worker.sharedBudget(store: store, fallbackPods: fallbackPods, logger: logger))
            } catch {
                // The ledger opened, so this is unlikely; the pod keeps a fair local share.
                worker.useLocalShare(ofPods: fallbackPods)
                logger.warning("shared request budget unavailable; using a local share", metadata: ["error": "\(error)"])
            }
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Bounds on the whole stop, beyond the worker's own: if a graceful stop overruns
        // (drain, revoke, close and flush each have their own timeouts, so only a defect
        // gets here), the group cancels the services, which the worker turns into an
        // immediate stop; if even that hangs, the process ends with an error rather than
        // never (an orchestrator would SIGKILL it, without this log line).
        groupConfiguration.maximumGracefulShutdownDuration = configuration.maximumStopDuration
        groupConfiguration.maximumCancellationDuration = .seconds(30)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            await sharedBudget?.close()
            await ledger.close()
            await postgres?.close()
            throw error
        }
        await sharedBudget?.close()
        await ledger.close()
        await postgres?.close()
    }
}

extension WorkerConfiguration {
    init(_ settings: Settings) throws {
        let workerID = settings["OCR_WORKER_ID"] ?? ProcessInfo.processInfo.hostName
        var provider = OCRClientConfiguration(
            baseURL: settings.string("OCR_PROVIDER_URL", default: "http://127.0.0.1:8080"),
            apiKey: settings.string("OCR_PROVIDER_API_KEY", default: ""))
        provider.budget.requestsPerSecond = try settings.double("OCR_PROVIDER_RPS", default: 2)
        if let policy = settings["OCR_SOURCE_POLICY"] {
            guard let p = SourcePolicy(rawValue: policy) else { throw ValidationFailure("OCR_SOURCE_POLICY must be auto, pass_url or upload") }
            provider.sourcePolicy = p
        }
        provider.allowNonPublicImageURLs = try settings.bool("OCR_ALLOW_PRIVATE_SOURCES", default: false)
        let maxResultBytes = try settings.int("OCR_RESULT_MAX_BYTES", default: 1 << 30, in: 1...Int(Int32.max))
        provider.maxResultBytes = Int64(maxResultBytes)
        provider.resultDownloadTimeout = try settings.seconds("OCR_RESULT_DOWNLOAD_TIMEOUT_SECONDS", default: 900, in: 1...Int(Int32.max))
        guard !provider.apiKey.isEmpty else { throw ValidationFailure("OCR_PROVIDER_API_KEY is not set") }
        let maxInFlight = try settings.int("OCR_MAX_IN_FLIGHT", default: 64)
        // In 1...Int32.max, so the conversion cannot fail.
        let partitions = Int32(try settings.int("OCR_TOPIC_PARTITIONS", default: 6, in: 1...Int(Int32.max)))
        // Negative: no operations endpoints.
        let port = try settings.int("OCR_HTTP_PORT", default: 9464, in: Int(Int32.min)...65535)
        let unknownTopicDeadline = try settings.seconds("OCR_UNKNOWN_TOPIC_DEADLINE_SECONDS", default: 120, in: 1...Int(Int32.max))
        self.init(
            kafka: settings.kafka(clientID: "ocr-worker-\(workerID)"),
            groupID: settings.groupID,
            jobsTopic: settings.jobsTopic,
            createTopics: try settings.bool("OCR_CREATE_TOPICS", default: false),
            topicPartitions: partitions,
            consumerSessionTimeout: try settings.seconds("OCR_SESSION_TIMEOUT_SECONDS", default: 45),
            provider: provider,
            ledgerURL: settings.ledgerURL ?? "sqlite:///var/lib/ocr-worker/ledger.db",
            resultStoreURL: settings.string("OCR_RESULT_STORE_URL", default: "file:///var/lib/ocr-worker/results"),
            processing: JobSettings(
                resultsTopic: settings.resultsTopic, deadLetterTopic: settings.deadLetterTopic, consumerGroup: settings.groupID,
                workerID: workerID, workerVersion: OCRWorkerCommand.version,
                maxRecreates: try settings.int("OCR_MAX_RECREATES", default: 2),
                taskTimeout: try settings.seconds("OCR_TASK_TIMEOUT_SECONDS", default: 1800),
                passThrough: try settings.bool("OCR_PASS_THROUGH", default: false),
                createClaimTimeout: try settings.seconds("OCR_CREATE_CLAIM_TIMEOUT_SECONDS", default: 30),
                maxConcurrentCreates: try settings.int("OCR_MAX_CONCURRENT_CREATES", default: 1),
                maxRecordBytes: try settings.int("OCR_MAX_RECORD_BYTES", default: JobDecoder.defaultMaxValueBytes),
                pollPlanning: try PollPlanSettings(settings, providerURL: provider.baseURL),
                unknownTopicDeadline: unknownTopicDeadline),
            consumption: ConsumptionSettings(
                maxInFlight: maxInFlight,
                drainTimeout: try settings.seconds("OCR_DRAIN_TIMEOUT_SECONDS", default: 30)),
            httpPort: port < 0 ? nil : port,
            httpHost: settings.string("OCR_HTTP_HOST", default: "0.0.0.0"),
            stallLimit: try settings.seconds("OCR_STALL_LIMIT_SECONDS", default: 7200))
    }
}

extension PollPlanSettings {
    /// `OCR_POLL_PLAN_*` (README, "How polls are planned"). The provider is keyed by the
    /// API host only: never a path, a query or credentials.
    init(_ settings: Settings, providerURL: String) throws {
        let defaults = PollPlanSettings()
        self.init(
            enabled: try settings.bool("OCR_POLL_PLAN", default: defaults.enabled),
            provider: URL(string: providerURL)?.host ?? defaults.provider,
            coldStartTasks: try settings.int("OCR_POLL_PLAN_COLD_START_TASKS", default: defaults.coldStartTasks),
            doneProbability: try settings.double("OCR_POLL_PLAN_DONE_PROBABILITY", default: defaults.doneProbability),
            maxLagFraction: try settings.double("OCR_POLL_PLAN_MAX_LAG_FRACTION", default: defaults.maxLagFraction),
            maxLag: .milliseconds(Int64(min(max(try settings.double("OCR_POLL_PLAN_MAX_LAG_SECONDS", default: defaults.maxLag.inWholeSeconds), 0.01), 86_400) * 1000)),
            // Unset: polls inside a progress step's interval use the done probability.
            progressBoundDoneProbability: settings["OCR_POLL_PLAN_STEP_DONE_PROBABILITY"] == nil
                ? nil : try settings.double("OCR_POLL_PLAN_STEP_DONE_PROBABILITY", default: defaults.doneProbability))
    }
}

extension Duration {
    fileprivate var inWholeSeconds: Double { Double(components.seconds) }
}
