import Foundation
import ServiceLifecycle

/// Runs the tasks left unfinished by the previous process, sweeps expired results while the
/// server runs; on graceful shutdown (SIGTERM) drains: creates are refused, tasks already
/// on an engine get up to the drain timeout to finish, and every other task is handed back
/// (left queued in the task store for the next start). Then stops the engines.
struct ProcessingService: Service {
    let core: ServerCore

    func run() async throws {
        core.resumeUnfinished()
        await core.checkOfficeSandbox()
        let interval = core.configuration.sweepInterval
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                core.sweep()
            }
        }
        core.draining.store(true, ordering: .relaxed)
        core.logger.info(
            "shutting down: draining tasks",
            metadata: ["tasks": "\(core.tracker.count)", "drain_timeout_seconds": "\(core.configuration.drainTimeout)"])
        await core.tracker.drain(timeout: Task.isCancelled ? 0 : core.configuration.drainTimeout)
        await core.pool.shutdown()
        core.logger.info("processing stopped")
    }
}
