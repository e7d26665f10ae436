public import Logging
public import PollPlanning

/// Keeps a ``DurationModel`` across restarts through a ``DurationModelStore``: takes up
/// what is stored when the worker starts, saves every ``interval`` and once more when it
/// stops. A store that fails costs nothing but the memory across a restart: it is logged
/// and the worker learns on as before.
public struct DurationModelPersistence: Sendable {
    public let model: DurationModel
    public let store: any DurationModelStore
    public let interval: Duration
    let logger: Logger

    public init(model: DurationModel, store: any DurationModelStore, interval: Duration = .seconds(60), logger: Logger) {
        self.model = model
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Takes up the stored entries (for keys not learned since the start).
    public func load() async {
        let provider = model.settings.provider
        do {
            let entries = try await store.loadDurations(provider: provider)
            let (restored, dropped) = model.restore(entries)
            logger.info(
                "poll planner: learned durations restored",
                metadata: [
                    "entries": "\(restored)", "dropped": "\(dropped)", "provider": "\(provider)",
                ])
        } catch {
            logger.warning(
                "poll planner: could not read the stored durations; learning from a cold start",
                metadata: [
                    "error": "\(String(describing: error).prefix(200))"
                ])
        }
    }

    /// Saves what the model learned; false when the store failed (logged).
    @discardableResult
    public func save() async -> Bool {
        let entries = model.snapshot()
        guard !entries.isEmpty else { return true }
        do {
            try await store.saveDurations(provider: model.settings.provider, entries: entries)
            return true
        } catch {
            logger.warning(
                "poll planner: could not store the learned durations",
                metadata: [
                    "error": "\(String(describing: error).prefix(200))"
                ])
            return false
        }
    }

    /// Saves every ``interval`` until cancelled.
    public func run() async {
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            await save()
        }
    }
}
