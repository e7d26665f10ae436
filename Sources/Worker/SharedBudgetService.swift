public import Logging
public import OCRClient
public import ServiceLifecycle

/// Runs a ``SharedRequestBudget`` beside the worker: one request budget per API key across
/// the pods that share a PostgreSQL ledger. Stops on graceful shutdown (its lease then
/// expires and the other pods take its share).
public final class SharedBudgetService: Service, Sendable {
    public let shared: SharedRequestBudget

    public init(shared: SharedRequestBudget) {
        self.shared = shared
    }

    public func run() async throws {
        let shared = self.shared
        await cancelWhenGracefulShutdown {
            await shared.run()
        }
    }
}

extension WorkerService {
    /// The service that keeps this pod's request budget at its share of the key
    /// (`OCR_PROVIDER_RPS` is then the key's rate, not the pod's), exchanging leases through
    /// `store`; `fallbackPods` divides the key's rate while the store was never reached.
    public func sharedBudget(store: any RequestBudgetStore, fallbackPods: Int, logger: Logger) -> SharedBudgetService {
        SharedBudgetService(
            shared: SharedRequestBudget(
                budget: provider.budget, store: store, apiKey: configuration.provider.apiKey,
                keyLimit: configuration.provider.budget.requestsPerSecond, podID: configuration.processing.workerID,
                fallbackPods: fallbackPods, logger: logger))
    }

    /// Keeps this pod's budget at the key's rate over `pods` (the shared budget could not
    /// be opened), and says so on `/metrics` (``SharedBudgetMetrics``).
    public func useLocalShare(ofPods pods: Int, metrics: SharedBudgetMetrics = SharedBudgetMetrics()) {
        provider.budget.setCeiling(configuration.provider.budget.requestsPerSecond / Double(max(1, pods)))
        metrics.usingLocalShare()
    }
}
