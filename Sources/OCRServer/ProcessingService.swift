import Foundation
import ServiceLifecycle

/// Sweeps expired results while the server runs; on shutdown stops new tasks, drains
/// running ones, and stops the engines and the download client.
struct ProcessingService: Service {
    let core: ServerCore

    func run() async throws {
        await core.checkOfficeSandbox()
        let interval = core.configuration.sweepInterval
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                core.sweep()
            }
        }
        core.draining.store(true, ordering: .relaxed)
        core.logger.info("shutting down: draining tasks", metadata: ["running": "\(core.tracker.count)"])
        await core.tracker.drain(timeout: Task.isCancelled ? 0 : core.configuration.drainTimeout)
        await core.pool.shutdown()
        core.logger.info("processing stopped")
    }
}
