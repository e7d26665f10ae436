import Foundation
import JSONLogging
import JobCore
import Ledger
import Logging
import PostgresSupport
import ResultStore
import ServiceLifecycle
import UnixSignals
import Worker

/// The worker's one composition root: from settings to running services. It builds the
/// ledger, the result store, the PostgreSQL pool they share, the worker, the operations
/// endpoints and the shared request budget, runs them in one service group that owns
/// SIGTERM and SIGINT, and closes what it opened in reverse order, whatever happens.
///
/// The `run` command only reads its flags into ``Settings`` and calls ``run(_:version:)``;
/// everything a test needs to check about configuration is in ``WorkerConfiguration/init(_:version:)``.
public enum WorkerComposition {
    public static func run(_ settings: Settings, version: String) async throws {
        let logger = JSONLogging.bootstrap(level: settings["OCR_LOG_LEVEL"] ?? "info")
        let metrics = MetricsExport.bootstrap()
        let configuration = try WorkerConfiguration(settings, version: version)
        // The dependency environment: PGPASSWORD, OCR_LEDGER_PASSWORD and AWS_* from the
        // process or the --config file.
        let environment = settings.dependencyEnvironment
        let ledgerConfiguration = try LedgerConfiguration(url: configuration.ledgerURL, environment: environment)
        let sharing = try SharingSettings(settings)
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
        var sharedBudget: PostgresRequestBudget?
        do {
            let store: (any ResultStore)? =
                configuration.processing.passThrough
                ? nil : try makeResultStore(ResultStoreConfiguration(url: configuration.resultStoreURL, environment: environment))
            if let store {
                // A crash's partial result files; in the background, as the directory may be large.
                Task { [logger] in
                    let removed = await store.removeAbandonedPartialFiles()
                    if removed > 0 { logger.info("removed partial result files left by a crash", metadata: ["files": "\(removed)"]) }
                }
            }
            // The poll planner's learned durations outlive restarts in the ledger's database.
            let durationStore =
                sharing.persistPollPlan
                ? await WorkerService.openDurationStore(ledger: ledgerConfiguration, pool: postgres, logger: logger) : nil
            let worker = try WorkerService(
                configuration: configuration, ledger: ledger, store: store, logger: logger, durationStore: durationStore)
            // Graceful shutdown goes through the services in reverse order: the worker
            // drains, commits and leaves the group first, and the operations endpoints
            // stop last.
            var services: [any Service] = []
            if let port = configuration.httpPort {
                services.append(
                    OperationsServer(host: configuration.httpHost, port: port, worker: worker, metrics: metrics, logger: logger))
            }
            services.append(worker)
            // With a PostgreSQL ledger, pods share one request budget per API key through it.
            if let postgres, sharing.sharedBudget {
                do {
                    let store = try await PostgresRequestBudget(pool: postgres)
                    sharedBudget = store
                    services.append(worker.sharedBudget(store: store, fallbackPods: sharing.podsPerKey, logger: logger))
                } catch {
                    // The ledger opened, so this is unlikely; the pod keeps a fair local share.
                    worker.useLocalShare(ofPods: sharing.podsPerKey)
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
            try await ServiceGroup(configuration: groupConfiguration).run()
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

/// How a pod shares state with the others beyond the ledger: the poll planner's learned
/// durations and the API key's request budget.
struct SharingSettings {
    var persistPollPlan: Bool
    var sharedBudget: Bool
    /// Pods assumed on the key while the shared budget was never reached.
    var podsPerKey: Int

    init(_ settings: Settings) throws {
        persistPollPlan = try settings.bool("OCR_POLL_PLAN_PERSIST", default: true)
        sharedBudget = try settings.bool("OCR_SHARED_BUDGET", default: true)
        podsPerKey = try settings.int("OCR_PROVIDER_PODS_PER_KEY", default: 1, in: 1...10_000)
    }
}
