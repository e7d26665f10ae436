import Synchronization

/// The worker's learned task durations, shared by every job of the pod: a
/// ``DurationFit`` (log-normal, and a two-component mixture) per ``DurationKey`` and a
/// ``ProgressTrust`` per provider, fed by completed tasks (``record(_:)``) and read as a
/// ``PollPlanner`` snapshot when a job starts (``planner(for:)``). In memory: a restarted
/// pod starts cold again, which costs ``PollPlanSettings/coldStartTasks`` tasks at today's
/// schedule per key.
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
