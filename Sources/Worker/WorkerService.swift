import Foundation
public import JobCore
import Kafka
import Ledger
public import Logging
import OCRClient
public import PollPlanning
public import ResultStore
public import ServiceLifecycle

/// The whole worker: Kafka in, jobs through the provider, results and dead letters out.
/// A swift-service-lifecycle `Service`: a graceful shutdown (SIGTERM) stops fetching,
/// drains in-flight jobs to their checkpoints within the drain timeout, commits, leaves
/// the group, flushes the producer and returns.
public final class WorkerService: Service, Sendable {
    public let configuration: WorkerConfiguration
    public let ledger: any JobLedger
    public let monitor: ProviderMonitor
    public let loop: JobConsumerLoop
    let provider: OCRClient
    let producer: KafkaProducer
    let scheduler: PollScheduler
    let metrics = WorkerMetrics()
    /// Liveness: false after a failure only a restart fixes (a fatal producer error).
    public let health = WorkerHealth()
    let logger: Logger
    /// Keeps the poll planner's learned durations across restarts (nil: no store).
    let durations: DurationModelPersistence?
    /// How long a stop waits for results and dead letters still in the producer's queue.
    static let producerFlushTimeout: Duration = .seconds(10)

    /// Connects the parts. The ledger and the store are made by the caller (their URLs
    /// are in the configuration), so tests and tools can share them. `durationStore` keeps
    /// the poll planner's learned durations across restarts (``openDurationStore``);
    /// the worker closes it when it stops.
    public init(
        configuration: WorkerConfiguration, ledger: any JobLedger, store: (any ResultStore)?, logger: Logger,
        durationStore: (any DurationModelStore)? = nil
    ) throws {
        self.configuration = configuration
        self.ledger = ledger
        self.logger = logger
        provider = try OCRClient(configuration: configuration.provider, logger: logger)
        producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: configuration.kafka), logger: logger)
        scheduler = PollScheduler()
        monitor = ProviderMonitor(logger: logger)
        let runner = JobRunner(
            settings: configuration.processing,
            ports: .init(
                provider: provider, ledger: ledger, store: store, publisher: producer, timer: scheduler, gate: monitor, logger: logger,
                dependencyRetryDelay: configuration.processing.dependencyRetryDelay),
            metrics: metrics, health: health, logger: logger)
        durations = durationStore.map { DurationModelPersistence(model: runner.durationModel, store: $0, logger: logger) }
        loop = JobConsumerLoop(
            consumer: configuration.consumer, topics: [configuration.jobsTopic], handler: runner,
            settings: configuration.consumption, logger: logger)
        let loop = self.loop
        let metrics = self.metrics
        monitor.onChange { usable in
            loop.providerUsable(usable)
            metrics.providerHealthy(usable)
        }
    }

    /// Ready when the provider accepts our key and its circuit is closed, the ledger
    /// answers, and the worker is not shutting down (while it drains, `/healthz` and
    /// `/metrics` still answer but `/readyz` says no). The broker is checked by the
    /// consumer's own group membership.
    /// Whether the provider lets this pod send now, and for how long not (``ProviderStatus``).
    public var providerStatus: ProviderStatus {
        ProviderStatus(condition: monitor.condition, budgetPause: provider.budget.remainingPause, now: .now)
    }

    /// Why the process cannot go on (``WorkerLiveness``); nil while it can.
    public var livenessProblem: String? {
        WorkerLiveness.problem(
            fatalReason: health.fatalReason, consumer: loop.consumerHealth, sinceLastPoll: loop.sinceLastPoll,
            stallLimit: configuration.consumerStallLimit)
    }

    public func readiness() async -> [String: Bool] {
        var checks: [String: Bool] = ["provider": monitor.isHealthy, "running": !loop.isStopping]
        do {
            try await ledger.ping()
            checks["ledger"] = true
        } catch {
            checks["ledger"] = false
        }
        checks["kafka"] = !loop.assignment.isEmpty || loop.statistics != nil
        // A job older than the stall limit holds its partition's commits back: no rule
        // lets a job live that long, so something is stuck.
        checks["not_stalled"] = loop.stalledJobs(olderThan: configuration.stallLimit) == 0
        checks["alive"] = livenessProblem == nil
        return checks
    }

    public func run() async throws {
        if configuration.createTopics {
            try await KafkaAdmin(client: configuration.kafka, logger: logger).createTopics([
                .init(name: configuration.jobsTopic, partitions: configuration.topicPartitions),
                .init(name: configuration.processing.resultsTopic, partitions: configuration.topicPartitions),
                .init(name: configuration.processing.deadLetterTopic, partitions: configuration.topicPartitions),
            ])
        }
        metrics.providerHealthy(true)
        logger.info(
            "worker starting",
            metadata: [
                "worker_id": "\(configuration.processing.workerID)", "provider": "\(configuration.provider.baseURL)",
                "ledger": "\(LedgerDisplay.redact(configuration.ledgerURL))",
                "mode": "\(configuration.processing.passThrough ? "pass-through" : "rehost")",
            ])
        let loop = self.loop
        await durations?.load()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.scheduler.run() }
            if let durations = self.durations { group.addTask { await durations.run() } }
            group.addTask { await self.monitor.probe(self.provider, every: self.configuration.providerProbeInterval) }
            group.addTask {
                var tick = 0
                while !Task.isCancelled {
                    // A consumer's fatal error ends the process like a producer's.
                    if let fatal = loop.consumerHealth?.fatalError { self.health.markFatal("Kafka consumer: \(fatal)") }
                    if let reason = self.health.fatalReason {
                        self.logger.critical("the worker cannot go on; exiting so that it is restarted", metadata: ["reason": "\(reason)"])
                        throw WorkerFatalError(reason: reason)
                    }
                    if tick % 5 == 0 {
                        self.metrics.consumption(inFlight: loop.inFlight, consumerLag: loop.statistics?.totalConsumerLag)
                        self.metrics.provider(self.providerStatus)
                        self.metrics.stalls(
                            oldestJobAge: loop.oldestJobAge, stalled: loop.stalledJobs(olderThan: self.configuration.stallLimit),
                            commitLag: loop.uncommittedRecords)
                    }
                    tick += 1
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            try await withGracefulShutdownHandler {
                try await loop.run()
            } onGracefulShutdown: {
                self.logger.info("shutdown requested: draining")
                loop.stop()
            }
            // The loop drained and left the group; stop the helpers.
            self.scheduler.stop()
            group.cancelAll()
        }
        await producer.close(flushTimeout: Self.producerFlushTimeout)
        if let durations {
            await durations.save()
            await durations.store.close()
        }
        try? await provider.shutdown()
        logger.info("worker stopped")
    }
}

/// The process must restart (see ``WorkerHealth``): ends ``WorkerService/run()`` with an
/// error, so the process exits non-zero.
public struct WorkerFatalError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "worker unhealthy: \(reason)" }
}

/// Hides a password in a ledger URL for logs.
enum LedgerDisplay {
    static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "[ledger]"
    }
}
