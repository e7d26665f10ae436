import Foundation

/// A task store that several replicas use at once (``PostgresTaskRepository``): any
/// replica answers any task, and engines take queued tasks from the store rather than
/// from their own process.
///
/// Leases: a replica runs a task only while it holds the task's lease (its
/// ``replicaID`` and an expiry, kept in the store by the store's clock). It takes one with
/// ``claim(lease:)``, renews the leases of the tasks it runs with ``renew(ids:lease:)``
/// well before they expire, and gives a task back with ``release(id:)`` (drain). A task
/// whose lease expired (its replica was killed, or lost the store for longer than the
/// lease) is claimable again and starts over on whichever replica takes it. Every change
/// a runner makes (``TaskRepository/update(id:_:)``) is fenced by the lease: a replica
/// that lost it changes nothing. A task that ends (success or failure) loses its lease.
///
/// Admission: the store counts pending tasks (in all and per owner) in counter rows
/// changed in the same transaction as the tasks, so limits hold across replicas and a
/// check is a key lookup, never a scan.
protocol SharedTaskRepository: TaskRepository {
    /// This replica's name in leases: unique per process.
    var replicaID: String { get }

    /// Pending tasks now, in all and of `owner` (two key lookups).
    func pendingCounts(owner: String) async throws(TaskRepositoryError) -> (all: Int, owner: Int)

    /// Stores a new pending task unless that would take the store past `maxPending`
    /// pending tasks or its owner past `maxPendingPerOwner`
    /// (``TaskRepositoryError/refused(_:)``): the check and the insert are one transaction.
    func insert(_ task: StoredTask, maxPending: Int, maxPendingPerOwner: Int) async throws(TaskRepositoryError)

    /// Takes a claimable task (queued without a lease, or pending with an expired lease)
    /// for this replica for `lease` seconds, skipping rows other replicas are claiming at
    /// the same moment: the oldest one of the owner whose turn it is (owners take turns:
    /// the one served longest ago first), so one key's backlog never runs ahead of another
    /// key's first task. The task comes back queued; its progress stays (a runner only
    /// ever raises it), so a client polling never sees it go back.
    func claim(lease: TimeInterval) async throws(TaskRepositoryError) -> ClaimedTask?

    /// Extends by `lease` seconds the leases this replica still holds among `ids`; the ids
    /// it still holds (the others were taken over).
    func renew(ids: [String], lease: TimeInterval) async throws(TaskRepositoryError) -> Set<String>

    /// Hands a task this replica holds back: queued, no lease, its run's start given back
    /// (``StoredTask/attempts``), so any replica takes it at once. False when this replica
    /// does not hold it.
    func release(id: String) async throws(TaskRepositoryError) -> Bool

    /// Closes the connections (at the very end of shutdown).
    func close() async
}

/// A task a replica claimed.
struct ClaimedTask: Sendable, Equatable {
    var task: StoredTask
    /// The replica whose lease had expired, when the task was taken over; nil for a task
    /// that was queued without a lease.
    var takenOverFrom: String?
}
