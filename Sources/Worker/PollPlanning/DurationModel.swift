import Synchronization

/// The worker's learned task durations, shared by every job of the pod: a
/// ``LogNormalFit`` per ``DurationKey`` and a ``ProgressTrust`` per provider, fed by
/// completed tasks (``record(_:)``) and read as a ``PollPlanner`` snapshot when a job
/// starts (``planner(for:)``). In memory: a restarted pod starts cold again, which costs
/// ``PollPlanSettings/coldStartTasks`` tasks at today's schedule per key.
public final class DurationModel: Sendable {
    private struct State {
        var fits: [DurationKey: LogNormalFit] = [:]
        var progress: [String: ProgressTrust] = [:]
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
        let weight = settings.modelWeight
        state.withLock { state in
            var keys = [timing.key]
            if timing.key.sizeBucket != nil { keys.append(timing.key.withoutSize) }
            for key in keys {
                state.fits[key, default: LogNormalFit(weight: weight)].add(duration)
            }
            state.progress[timing.key.provider, default: ProgressTrust(weight: weight)].add(timing)
        }
    }

    /// The planner for a task with `key`: the key's own fit once it has enough tasks,
    /// else the size-less fallback's, else the cold start.
    public func planner(for key: DurationKey) -> PollPlanner {
        let (fit, trust) = state.withLock { state -> (LogNormalFit?, ProgressTrust?) in
            let own = state.fits[key]
            let fallback = key.sizeBucket == nil ? nil : state.fits[key.withoutSize]
            var chosen = own
            if (own?.count ?? 0) < settings.coldStartTasks, let fallback, fallback.count > (own?.count ?? 0) { chosen = fallback }
            return (chosen, state.progress[key.provider])
        }
        return PollPlanner(
            key: key, settings: settings, coldStart: coldStart, durations: settings.enabled ? fit : nil,
            progressIsPredictive: trust?.isPredictive(settings) ?? false)
    }
}
