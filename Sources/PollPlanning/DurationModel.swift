import Synchronization

/// The worker's learned task durations, shared by every job of the pod: a
/// ``DurationFit`` (log-normal, and a two-component mixture) per ``DurationKey`` and a
/// ``ProgressTrust`` per provider, fed by completed tasks (``record(_:)``) and read as a
/// ``PollPlanner`` snapshot when a job starts (``planner(for:)``). In memory, and stored
/// across restarts when the worker has a ``DurationModelStore`` (``snapshot()``,
/// ``restore(_:)``); without one a restarted pod starts cold again, which costs
/// ``PollPlanSettings/coldStartTasks`` tasks at today's schedule per key.
public final class DurationModel: Sendable {
    private struct State {
        var fits: [DurationKey: DurationFit] = [:]
        var progress: [String: ProgressTrust] = [:]
    }

    /// How many keys have learned what: for the planner's gauges.
    public struct Summary: Sendable, Hashable {
        /// Keys with a fit.
        public var keys = 0
        /// Keys whose fit places polls (past the cold start).
        public var warm = 0
        /// Warm keys whose mixture places polls.
        public var mixtures = 0
    }

    public let settings: PollPlanSettings
    public let coldStart: PollBackoff
    private let state = Mutex(State())

    public init(settings: PollPlanSettings, coldStart: PollBackoff) {
        self.settings = settings
        self.coldStart = coldStart
    }

    /// Learns from a task found done (successful tasks only: failures end on other
    /// schedules). The duration is learned under its key and, when the key has a size,
    /// under the size-less key too (the fallback of sizes seen rarely).
    public func record(_ timing: CompletedTaskTiming) {
        guard settings.enabled else { return }
        let duration = timing.estimate
        let settings = settings
        state.withLock { state in
            var keys = [timing.key]
            if timing.key.sizeBucket != nil { keys.append(timing.key.withoutSize) }
            for key in keys {
                state.fits[key, default: DurationFit(weight: settings.modelWeight, mixtureSeed: settings.coldStartTasks)].add(duration)
            }
            state.progress[timing.key.provider, default: ProgressTrust(weight: settings.modelWeight, tolerance: settings.progressTolerance)]
                .add(timing)
        }
    }

    /// The planner for a task with `key`: the key's own fit once it has enough tasks,
    /// else the size-less fallback's, else the cold start.
    public func planner(for key: DurationKey) -> PollPlanner {
        let (fit, trust) = state.withLock { state -> (DurationFit?, ProgressTrust?) in
            let own = state.fits[key]
            let fallback = key.sizeBucket == nil ? nil : state.fits[key.withoutSize]
            var chosen = own
            if (own?.count ?? 0) < settings.coldStartTasks, let fallback, fallback.count > (own?.count ?? 0) { chosen = fallback }
            return (chosen, state.progress[key.provider])
        }
        let usable = settings.enabled ? fit : nil
        return PollPlanner(
            key: key, settings: settings, coldStart: coldStart, durations: usable?.single,
            progressIsPredictive: trust?.isPredictive(settings) ?? false,
            mixture: usable?.preferredMixture(advantage: settings.mixtureAdvantage, minimumCompared: settings.coldStartTasks),
            progressStepSize: trust?.stepSize(settings))
    }

    /// What the model learned for ``PollPlanSettings/provider``, to store across restarts
    /// (``DurationModelStore``): an entry per key (named by it) and one for the provider's
    /// progress trust, each a JSON document of the fits' running statistics.
    public func snapshot() -> [String: String] {
        let provider = settings.provider
        let (fits, trust) = state.withLock { state in
            (state.fits.filter { $0.key.provider == provider }, state.progress[provider])
        }
        var entries: [String: String] = [:]
        for (key, fit) in fits {
            let stored = StoredDurations(format: key.format, sizeBucket: key.sizeBucket, fit: fit.statistics)
            entries[key.description] = stored.encoded()
        }
        if let trust { entries[StoredDurations.progressName] = StoredDurations(progress: trust.statistics).encoded() }
        return entries
    }

    /// Takes up stored entries (``snapshot()``'s) for keys that learned nothing since the
    /// start: what this pod learned itself is newer. Entries that do not decode, or whose
    /// numbers cannot be a fit's, are dropped. Answers how many were taken and dropped.
    @discardableResult
    public func restore(_ entries: [String: String]) -> (restored: Int, dropped: Int) {
        guard settings.enabled else { return (0, 0) }
        let settings = settings
        var fits: [DurationKey: DurationFit] = [:]
        var trust: ProgressTrust?
        var dropped = 0
        for (name, text) in entries {
            guard let stored = StoredDurations.decoded(text) else {
                dropped += 1
                continue
            }
            if name == StoredDurations.progressName, let statistics = stored.progress,
                let restored = ProgressTrust(statistics, weight: settings.modelWeight, tolerance: settings.progressTolerance)
            {
                trust = restored
            } else if let statistics = stored.fit, let key = stored.key(provider: settings.provider),
                let fit = DurationFit(statistics, weight: settings.modelWeight, mixtureSeed: settings.coldStartTasks)
            {
                fits[key] = fit
            } else {
                dropped += 1
            }
        }
        let restored = state.withLock { state -> Int in
            var taken = 0
            for (key, fit) in fits where state.fits[key] == nil {
                state.fits[key] = fit
                taken += 1
            }
            if let trust, state.progress[settings.provider] == nil {
                state.progress[settings.provider] = trust
                taken += 1
            }
            return taken
        }
        return (restored, dropped)
    }

    /// What is learned so far.
    public var summary: Summary {
        let settings = settings
        return state.withLock { state in
            var summary = Summary()
            for fit in state.fits.values {
                summary.keys += 1
                guard fit.count >= settings.coldStartTasks else { continue }
                summary.warm += 1
                if fit.preferredMixture(advantage: settings.mixtureAdvantage, minimumCompared: settings.coldStartTasks) != nil {
                    summary.mixtures += 1
                }
            }
            return summary
        }
    }
}
