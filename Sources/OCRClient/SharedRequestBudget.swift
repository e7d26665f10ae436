import Crypto
import Synchronization
public import Logging

/// One request budget per API key across pods, through a ``RequestBudgetStore``.
///
/// - Every request takes the key's next send slot from the store (``slotSpacing`` apart,
///   in order, across all pods), so pods never send closer together than the key allows,
///   whatever their phases. A create takes a slot only while the key is booked less than
///   ``createHorizon`` ahead: polls keep their priority across pods.
/// - Every ``interval`` the pod renews its lease (its demand over the last interval,
///   polls and creates apart, for ``leaseTTL``) and reads the others': the live pod count
///   is its fallback divisor, and ``Round/share`` what ``SharedBudgetShare`` would give it.
///   Its own bucket keeps the key's rate (times the 429 factor): the slots pace it.
/// - A 429 seen by this pod cuts its own rate at once (the local bucket does that) and is
///   reported, so the key's factor, and with it the slot rate, is halved for every pod;
///   it recovers slowly.
/// - When the store cannot be reached, requests go without slots and the pod's bucket
///   falls back to a fair local share: the key's rate divided by the pods it last saw (or
///   ``fallbackPods`` before it ever saw any). ``metrics`` counts each fall and shows
///   whether the pod is there now.
///
/// Measured by `scripts/bench provider`: rate shares alone (each pod's bucket at its
/// share) still put three requests into some second of a 2-per-second key whenever three
/// pods' phases line up; the slots do not.
///
/// The key is identified in the store by a hash of the API key, never the key itself.
public final class SharedRequestBudget: Sendable {
    public let budget: RequestBudget
    public let store: any RequestBudgetStore
    /// The key's limit in requests per second (`OCR_PROVIDER_RPS`).
    public let keyLimit: Double
    public let podID: String
    public let interval: Duration
    public let leaseTTL: Duration
    /// Pods assumed before any exchange succeeded (the fallback's divisor).
    public let fallbackPods: Int
    /// Share of the key's rate the send slots use: a margin for network jitter, so
    /// requests spaced at the slots still arrive within the key's limit.
    public let slotMargin: Double
    /// How far ahead the key may be booked for a create to still take a slot: short, so
    /// creates fill the key's idle time without queueing behind polls. (A pod runs one
    /// create at a time; "only when the key is idle" starved them in a real three-pod run.)
    public let createHorizon: Duration
    let keyID: String
    private let logger: Logger
    /// Whether the pod is on its fair local share (the store unreachable), and how often
    /// it fell back to it.
    public let metrics: SharedBudgetMetrics
    /// The key's factor after 429s, as the last exchange saw it.
    private let rateFactor = Mutex(1.0)

    public init(
        budget: RequestBudget, store: any RequestBudgetStore, apiKey: String, keyLimit: Double, podID: String,
        interval: Duration = .seconds(1), leaseTTL: Duration = .seconds(3), fallbackPods: Int = 1, slotMargin: Double = 0.97,
        createHorizon: Duration = .seconds(2), logger: Logger = Logger(label: "ocr-worker.budget"),
        metrics: SharedBudgetMetrics = SharedBudgetMetrics()
    ) {
        self.metrics = metrics
        self.createHorizon = createHorizon
        self.slotMargin = min(max(slotMargin, 0.1), 1)
        self.budget = budget
        self.store = store
        self.keyLimit = keyLimit
        self.podID = podID
        self.interval = interval
        self.leaseTTL = leaseTTL
        self.fallbackPods = max(1, fallbackPods)
        self.logger = logger
        keyID = Self.keyID(apiKey)
    }

    /// A stable, non-reversible name for the key: the first 16 bytes of its SHA-256, hex.
    public static func keyID(_ apiKey: String) -> String {
        SHA256.hash(data: Array(apiKey.utf8)).prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// What one exchange saw and did (for tests and logs).
    public struct Round: Sendable, Hashable {
        public var share: Double
        public var pods: Int
        public var reachedStore: Bool

        public init(share: Double, pods: Int, reachedStore: Bool) {
            self.share = share
            self.pods = pods
            self.reachedStore = reachedStore
        }
    }

    /// The counters the next round measures demand against.
    public struct Counters: Sendable, Hashable {
        var polls = 0
        var creates = 0
        var throttles = 0
        public init() {}
    }

    /// One exchange: measure demand since `counters`, renew the lease, set the share.
    /// `lastPods` is the pod count the previous successful round saw.
    public func round(_ counters: inout Counters, lastPods: Int?) async -> Round {
        let polls = budget.granted(.existingTask)
        let creates = budget.granted(.newTask)
        let throttles = budget.throttles
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let demand = SharedBudgetShare.Demand(
            pod: podID,
            polls: Double(polls - counters.polls + budget.waiting(.existingTask)) / seconds,
            creates: Double(creates - counters.creates + budget.waiting(.newTask)) / seconds)
        let throttled = throttles > counters.throttles
        counters.polls = polls
        counters.creates = creates
        counters.throttles = throttles
        do {
            let state = try await store.exchange(keyID: keyID, lease: demand, ttl: leaseTTL, throttled: throttled)
            rateFactor.withLock { $0 = min(1, max(0.01, state.rateFactor)) }
            let share = SharedBudgetShare.share(of: keyLimit * state.rateFactor, for: podID, among: state.leases)
            budget.setCeiling(keyLimit * min(1, max(0.01, state.rateFactor)))
            if metrics.usingSharedBudget() {
                logger.info("shared request budget reachable again; sharing the key", metadata: ["pods": "\(state.leases.count)"])
            }
            return Round(share: share, pods: max(1, state.leases.count), reachedStore: true)
        } catch {
            let pods = lastPods ?? fallbackPods
            let share = keyLimit / Double(pods)
            budget.setCeiling(share)
            // Warned once per fall (the metrics count it); every round after at debug.
            let fell = metrics.usingLocalShare()
            logger.log(level: fell ? .warning : .debug, "shared request budget unreachable; using a fair local share", metadata: [
                "share_rps": "\(share)", "pods": "\(pods)", "error": "\(String(describing: error).prefix(200))",
            ])
            return Round(share: share, pods: pods, reachedStore: false)
        }
    }

    /// The spacing of the key's send slots: 1 / (rate x 429 factor x margin).
    public var slotSpacing: Duration {
        let rate = keyLimit * rateFactor.withLock { $0 } * slotMargin
        return .microseconds(Int64(1e6 / max(rate, 0.001)))
    }

    /// How long from now until this request's send slot; nil: a create while the key is
    /// busy (ask again after a spacing). Throws when the store cannot be reached.
    public func slotDelay(_ priority: RequestPriority) async throws -> Duration? {
        try await store.takeSlot(keyID: keyID, spacing: slotSpacing, createHorizon: priority == .newTask ? createHorizon : nil)
    }

    /// The slot gate of ``budget``: waits for the request's shared send slot. When the
    /// store cannot be reached the request goes at once (the pod's local share, set by
    /// ``round(_:lastPods:)``, still paces it).
    func waitForSlot(_ priority: RequestPriority) async throws {
        while true {
            let delay: Duration?
            do {
                delay = try await slotDelay(priority)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return
            }
            guard let delay else {
                try await budget.clock.sleep(for: slotSpacing)
                continue
            }
            if delay > .zero { try await budget.clock.sleep(for: delay) }
            return
        }
    }

    /// Exchanges every ``interval`` on the budget's clock until cancelled, with the slot
    /// gate set on ``budget`` meanwhile.
    public func run() async {
        budget.setSlotGate { [self] priority in try await self.waitForSlot(priority) }
        defer { budget.setSlotGate(nil) }
        var counters = Counters()
        var lastPods: Int?
        while !Task.isCancelled {
            let result = await round(&counters, lastPods: lastPods)
            if result.reachedStore { lastPods = result.pods }
            do { try await budget.clock.sleep(for: interval) } catch { return }
        }
    }
}
