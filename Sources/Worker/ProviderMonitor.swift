public import Logging
public import OCRClient
public import OCRTaskAPI
import Synchronization

/// Shares ``ProviderHealth`` between the jobs of a pod, the consumer loop and `/readyz`.
///
/// Jobs report every provider outcome; when the provider turns unusable (a 401, or the
/// circuit opens) the listener (the consumer loop) pauses fetching, jobs wait in
/// ``waitUntilUsable()``, and a probe re-checks the provider until it answers again.
public final class ProviderMonitor: Sendable {
    private let health: Mutex<ProviderHealth>
    private let listener: Mutex<(@Sendable (Bool) -> Void)?> = Mutex(nil)
    private let notifying = Mutex(())
    private let logger: Logger
    /// How often a waiting job re-checks whether calls may go out again.
    let recheckInterval: Duration

    public init(health: ProviderHealth = ProviderHealth(), recheckInterval: Duration = .milliseconds(500), logger: Logger) {
        self.health = Mutex(health)
        self.recheckInterval = recheckInterval
        self.logger = logger
    }

    /// Called with `false` when the provider becomes unusable and `true` when it recovers.
    public func onChange(_ listener: @escaping @Sendable (Bool) -> Void) {
        self.listener.withLock { $0 = listener }
    }

    public var isHealthy: Bool { health.withLock { $0.isHealthy } }
    public var condition: ProviderHealth.Condition { health.withLock { $0.condition } }

    public func recordSuccess() { update { $0.recordSuccess() } }

    /// Records the outcome of a failed call by the action the contract assigns to it.
    public func record(_ error: OCRClientError) {
        record(action: error.action, detail: "\(error)")
    }

    /// Records a failed call by its action; `detail` (redacted) goes into the log.
    public func record(action: CallerAction, detail: String) {
        switch action {
        case .deploymentFault:
            logger.error("provider refused the API key (401): pausing until it is accepted again", metadata: ["error": "\(detail)"])
            update { $0.recordUnauthorized(now: .now) }
        case .retryLater:
            update { $0.recordFailure(now: .now) }
        default:
            // The provider answered: a job-level verdict says nothing bad about it.
            update { $0.recordSuccess() }
        }
    }

    /// Suspends while calls may not go out. Throws `CancellationError` when cancelled.
    public func waitUntilUsable() async throws {
        while !health.withLock({ $0.allowsCalls(now: .now) }) {
            try await Task.sleep(for: recheckInterval)
        }
    }

    /// While the provider is unusable, asks it something harmless every `interval` to find
    /// out when it is back: a query of a task that does not exist answers 404 (or 400)
    /// with a valid key, 401 without one. Runs until cancelled.
    public func probe(_ client: OCRClient, every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !isHealthy, health.withLock({ $0.allowsCalls(now: .now) || $0.condition.isUnauthorized }) else { continue }
            do {
                _ = try await client.queryTask("ocr-worker-probe")
                recordSuccess()
            } catch {
                if let status = error.status, status == 404 || status == 400 {
                    logger.info("provider answers again")
                    recordSuccess()
                } else {
                    record(error)
                }
            }
        }
    }

    /// Applies a change; on a transition, tells the listener the *current* condition.
    /// Notifications are serialised and re-read the health inside, so two racing
    /// transitions can never leave the listener with a stale verdict (a paused
    /// consumer while the provider is healthy).
    private func update(_ change: (inout ProviderHealth) -> Void) {
        let changed = health.withLock { h -> Bool in
            let before = h.isHealthy
            change(&h)
            return before != h.isHealthy
        }
        guard changed else { return }
        notifying.withLock { _ in
            listener.withLock { $0 }?(health.withLock { $0.isHealthy })
        }
    }
}

extension ProviderHealth.Condition {
    var isUnauthorized: Bool {
        if case .unauthorized = self { return true }
        return false
    }
}
