import Crypto
import Deadlines
public import Logging
import Permits
import Synchronization

/// One request budget per API key across pods, through a ``RequestBudgetStore``.
///
/// - Every request books the key's next send slot in the store (``slotSpacing`` apart, in
///   order, across all pods), so pods never send closer together than the key allows,
///   whatever their phases. Bookings stay within a horizon: ``pollHorizon`` for polls and
///   downloads, the shorter ``createHorizon`` for creates (polls keep their priority
///   across pods). A poll that finds the key booked to its horizon waits for room, holding
///   the pod's turn (one booking at a time per pod, first come first served); a create
///   gives the turn up and asks again later. A request whose wait for its slot is
///   cancelled (its job ended) gives the slot back when it is still the key's latest.
/// - Every ``interval`` the pod renews its lease (its demand over the last interval,
///   polls and creates apart, for ``leaseTTL``) and reads the others': the live pod count
///   is its fallback divisor, and ``Round/share`` what ``SharedBudgetShare`` would give it.
///   Its own bucket keeps the key's rate (times the 429 factor): the slots pace it.
/// - A 429 seen by this pod cuts its own rate at once (the local bucket does that) and is
///   reported, so the key's factor, and with it the slot rate, is halved for every pod;
///   it recovers slowly.
/// - When the store cannot be reached, or does not answer within ``storeTimeout`` (a
///   stopped or overloaded database answers nothing rather than an error), the pod falls
///   back to a fair local share: the key's rate divided by the pods it last saw (or
///   ``fallbackPods`` before it ever saw any), and requests go without slots, without
///   asking the store, until an exchange succeeds again. A call past its deadline is
///   abandoned, never awaited; at most one exchange and one booking per pod are ever
///   outstanding. ``metrics`` counts each fall and shows whether the pod is there now.
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
    /// How far ahead a poll or a download may book the key: the most a request waits for
    /// its slot, and so the most an unused booking costs the key.
    public let pollHorizon: Duration
    /// How long an exchange or a booking may take before the pod stops waiting for the
    /// store and uses its local share.
    public let storeTimeout: Duration
    let keyID: String
    private let logger: Logger
    /// Whether the pod is on its fair local share (the store unreachable), and how often
    /// it fell back to it.
    public let metrics: SharedBudgetMetrics
    /// One request of the pod at a time books a slot, first come first served: a poll
    /// that finds the key booked to its horizon waits holding the turn, so the pod's other
    /// requests queue here instead of each asking the store again.
    private let turn = PermitQueue(limit: 1)

    private struct State {
        /// The key's factor after 429s, as the last exchange saw it.
        var rateFactor = 1.0
        /// The store was unreachable or slow: requests go without slots until an exchange
        /// succeeds.
        var onLocalShare = false
        /// The live pods the last successful exchange saw.
        var pods: Int?
        /// An exchange has not answered yet (maybe long past its deadline).
        var exchanging = false
    }

    private let state = Mutex(State())

    public init(
        budget: RequestBudget, store: any RequestBudgetStore, apiKey: String, keyLimit: Double, podID: String,
        interval: Duration = .seconds(1), leaseTTL: Duration = .seconds(3), fallbackPods: Int = 1, slotMargin: Double = 0.97,
        createHorizon: Duration = .seconds(2), pollHorizon: Duration = .seconds(5), storeTimeout: Duration = .seconds(1),
        logger: Logger = Logger(label: "ocr-worker.budget"), metrics: SharedBudgetMetrics = SharedBudgetMetrics()
    ) {
        self.metrics = metrics
        self.createHorizon = createHorizon
        self.pollHorizon = max(pollHorizon, createHorizon)
        self.storeTimeout = storeTimeout
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
        let pods = lastPods ?? fallbackPods
        let started = state.withLock { state in
            defer { state.exchanging = true }
            return !state.exchanging
        }
        guard started else { return fallBack(pods: pods, because: "the previous exchange has not answered yet") }
        let (store, keyID, leaseTTL) = (store, keyID, leaseTTL)
        let answer: SharedKeyState?
        do {
            answer = try await Deadline.run(within: storeTimeout, clock: budget.clock) { [self] _ in
                defer { state.withLock { $0.exchanging = false } }
                return try await store.exchange(keyID: keyID, lease: demand, ttl: leaseTTL, throttled: throttled)
            }
        } catch {
            return fallBack(pods: pods, because: "\(String(describing: error).prefix(200))")
        }
        guard let keyState = answer else { return fallBack(pods: pods, because: "no answer within \(storeTimeout)") }
        let factor = min(1, max(0.01, keyState.rateFactor))
        let share = SharedBudgetShare.share(of: keyLimit * keyState.rateFactor, for: podID, among: keyState.leases)
        budget.setCeiling(keyLimit * factor)
        let livePods = max(1, keyState.leases.count)
        state.withLock { state in
            state.rateFactor = factor
            state.onLocalShare = false
            state.pods = livePods
        }
        if metrics.usingSharedBudget() {
            logger.info("shared request budget reachable again; sharing the key", metadata: ["pods": "\(keyState.leases.count)"])
        }
        return Round(share: share, pods: livePods, reachedStore: true)
    }

    /// The store failed or was slow: the bucket goes to the key's rate over `pods`, and
    /// requests go without slots until an exchange succeeds.
    private func fallBack(pods: Int, because reason: String) -> Round {
        let share = keyLimit / Double(max(1, pods))
        budget.setCeiling(share)
        state.withLock { $0.onLocalShare = true }
        // Warned once per fall (the metrics count it); every round after at debug.
        let fell = metrics.usingLocalShare()
        logger.log(
            level: fell ? .warning : .debug, "shared request budget unreachable; using a fair local share",
            metadata: [
                "share_rps": "\(share)", "pods": "\(pods)", "error": "\(reason)",
            ])
        return Round(share: share, pods: pods, reachedStore: false)
    }

    /// Whether requests go without slots now (the store was unreachable or slow).
    public var isOnLocalShare: Bool { state.withLock { $0.onLocalShare } }

    /// The spacing of the key's send slots: 1 / (rate x 429 factor x margin).
    public var slotSpacing: Duration {
        let rate = keyLimit * state.withLock { $0.rateFactor } * slotMargin
        return .microseconds(Int64(1e6 / max(rate, 0.001)))
    }

    /// Books this request's slot within its horizon (see the type's documentation); nil:
    /// none, the request goes at once (the store failed or was slow, or the pod is on its
    /// local share). Throws `CancellationError` only.
    public func bookSlot(_ priority: RequestPriority) async throws -> SlotBooking? {
        let horizon = priority == .newTask ? createHorizon : pollHorizon
        while true {
            if isOnLocalShare { return nil }
            try await turn.acquire()
            let answer: SlotAnswer?
            do {
                answer = try await takeSlot(horizon: horizon)
            } catch is CancellationError {
                turn.release()
                throw CancellationError()
            } catch {
                turn.release()
                _ = fallBack(pods: knownPods, because: "\(String(describing: error).prefix(200))")
                return nil
            }
            guard let answer else {
                turn.release()
                _ = fallBack(pods: knownPods, because: "no answer within \(storeTimeout)")
                return nil
            }
            switch answer {
            case .booked(let booking):
                turn.release()
                return booking
            case .busy(let retryIn) where priority == .newTask:
                turn.release()
                try await budget.clock.sleep(for: max(retryIn, slotSpacing))
            case .busy(let retryIn):
                // Holding the turn: the pod's other requests wait behind this one.
                do {
                    try await budget.clock.sleep(for: min(max(retryIn, .milliseconds(1)), horizon))
                } catch {
                    turn.release()
                    throw error
                }
                turn.release()
            }
        }
    }

    /// One booking call with the deadline; a booking that comes after it is given back.
    private func takeSlot(horizon: Duration) async throws -> SlotAnswer? {
        let (store, keyID, spacing) = (store, keyID, slotSpacing)
        return try await Deadline.run(within: storeTimeout, clock: budget.clock) { _ in
            try await store.takeSlot(keyID: keyID, spacing: spacing, horizon: horizon)
        } late: { answer in
            if case .booked(let booking) = answer { _ = try? await store.releaseSlot(keyID: keyID, booking) }
        }
    }

    private var knownPods: Int { state.withLock { $0.pods } ?? fallbackPods }

    /// The slot gate of ``budget``: waits for the request's shared send slot. A request
    /// cancelled while it waits (its job ended) gives its slot back.
    public func waitForSlot(_ priority: RequestPriority) async throws {
        guard let booking = try await bookSlot(priority), booking.delay > .zero else { return }
        do {
            try await budget.clock.sleep(for: booking.delay)
        } catch {
            let (store, keyID) = (store, keyID)
            Task { _ = try? await store.releaseSlot(keyID: keyID, booking) }
            throw error
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
