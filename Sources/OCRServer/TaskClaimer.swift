import Foundation

/// With a shared store: takes queued tasks for this replica's engines and keeps the leases
/// of the tasks it runs.
///
/// ``claimLoop()`` claims (``SharedTaskRepository/claim(lease:)``, `FOR UPDATE SKIP
/// LOCKED`) while this replica runs fewer tasks than ``capacity``: its engines plus one
/// more, so the next task's download and preparation overlap the running one without a
/// replica hoarding tasks another could start. It looks again when woken (a task created
/// here, a runner finished) or every claim interval, and stops when the drain starts.
///
/// ``renewLoop()`` renews the leases of the running tasks every third of the lease; a task
/// whose lease another replica took over (this one could not renew in time) is cancelled
/// here, and its runner leaves it alone.
struct TaskClaimer: Sendable {
    let core: ServerCore
    let shared: any SharedTaskRepository

    var capacity: Int { core.configuration.workers + 1 }
    var lease: TimeInterval { core.configuration.effectiveLease }

    func claimLoop() async {
        let interval = Duration.milliseconds(Int64(min(max(0.05, core.configuration.claimInterval), 60) * 1000))
        while !Task.isCancelled && !core.draining.load(ordering: .relaxed) {
            while core.tracker.count < capacity, !core.draining.load(ordering: .relaxed), !Task.isCancelled {
                let claimed: ClaimedTask?
                do { claimed = try await shared.claim(lease: lease) } catch {
                    core.logger.error("claiming a task failed", metadata: ["reason": "\(error)"])
                    break
                }
                guard let claimed else { break }
                core.tracker.start(id: claimed.task.id) {
                    await core.runClaimed(claimed)
                    core.claimSignal.signal()
                }
            }
            await core.claimSignal.wait(timeout: interval)
        }
    }

    func renewLoop() async {
        let period = Duration.milliseconds(Int64(lease * 1000 / 3))
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            if Task.isCancelled { return }
            let running = core.tracker.ids
            guard !running.isEmpty else { continue }
            let held: Set<String>
            do { held = try await shared.renew(ids: running, lease: lease) } catch {
                core.logger.error(
                    "renewing task leases failed: other replicas take the tasks over if this lasts",
                    metadata: ["reason": "\(error)", "tasks": "\(running.count)"])
                continue
            }
            // A task that ended between the listing and the renewal gave its lease up; only
            // runners still going lost theirs.
            for id in running where !held.contains(id) && core.tracker.contains(id) {
                core.lostLeases.withLock { _ = $0.insert(id) }
                core.tracker.cancel(id: id)
            }
        }
    }
}
