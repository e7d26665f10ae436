import Foundation
import ServiceLifecycle

/// Runs the tasks left unfinished by the previous process (or, with a shared store, claims
/// queued tasks and keeps their leases: ``TaskClaimer``), sweeps expired results while the
/// server runs; on graceful shutdown (SIGTERM) drains: creates are refused, no task is
/// claimed any more, tasks already on an engine get up to the drain timeout to finish, and
/// every other task is handed back (left queued in the task store for the next start, or
/// released for another replica at once). Then stops the engines.
struct ProcessingService: Service {
    let core: ServerCore

    func run() async throws {
        var claiming: Task<Void, Never>?
        var renewing: Task<Void, Never>?
        if let shared = core.shared {
            let claimer = TaskClaimer(core: core, shared: shared)
            claiming = Task { await claimer.claimLoop() }
            renewing = Task { await claimer.renewLoop() }
        } else {
            await core.resumeUnfinished()
        }
        await core.checkOfficeSandbox()
        let interval = core.configuration.sweepInterval
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                await core.sweep()
            }
        }
        core.draining.store(true, ordering: .relaxed)
        core.claimSignal.signal()
        await claiming?.value
        if core.shared != nil {
            let engaged = core.onEngine.withLock { $0 }
            for id in core.tracker.ids where !engaged.contains(id) { core.tracker.cancel(id: id) }
        }
        core.logger.info(
            "shutting down: draining tasks",
            metadata: ["tasks": "\(core.tracker.count)", "drain_timeout_seconds": "\(core.configuration.drainTimeout)"])
        await core.tracker.drain(timeout: Task.isCancelled ? 0 : core.configuration.drainTimeout)
        // Leases stay renewed while tasks finish within the drain.
        renewing?.cancel()
        await renewing?.value
        await core.pool.shutdown()
        core.logger.info("processing stopped")
    }
}
