public import Metrics
import Synchronization

/// Whether a pod spends its key's budget through the shared store or on its fair local
/// share, for `/metrics`:
/// - `ocr_shared_budget_fallbacks_total`: the times the pod fell back to its local share
///   (a round that could not reach the store, when the previous one did or none had yet;
///   or a shared budget that could not be opened at start). Counted once per fall, not
///   per second spent there.
/// - `ocr_shared_budget_local_share`: 1 while the pod is on its local share, 0 while it
///   shares the key through the store.
///
/// A pod on its local share sends without the key's send slots: with several pods doing
/// so the key may see bursts and 429s, which is why an operator wants to see it.
public final class SharedBudgetMetrics: Sendable {
    public static let fallbacksLabel = "ocr_shared_budget_fallbacks_total"
    public static let localShareLabel = "ocr_shared_budget_local_share"

    private let fallbacks: Counter
    private let localShare: Gauge
    /// nil until the first round said which.
    private let onLocalShare = Mutex<Bool?>(nil)

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        fallbacks = Counter(label: Self.fallbacksLabel, factory: factory)
        localShare = Gauge(label: Self.localShareLabel, factory: factory)
    }

    /// The pod is on its local share now; answers whether it just fell back to it.
    @discardableResult
    public func usingLocalShare() -> Bool {
        let fell = onLocalShare.withLock { state -> Bool in
            defer { state = true }
            return state != true
        }
        if fell { fallbacks.increment() }
        localShare.record(1)
        return fell
    }

    /// The pod shares the key through the store now; answers whether it just came back.
    @discardableResult
    public func usingSharedBudget() -> Bool {
        let back = onLocalShare.withLock { state -> Bool in
            defer { state = false }
            return state == true
        }
        localShare.record(0)
        return back
    }

    /// Whether the last round left the pod on its local share.
    public var isOnLocalShare: Bool { onLocalShare.withLock { $0 } ?? false }
}
