import Foundation
import OCRTaskAPI
import TestSupport
import Testing

@testable import OCRServer

/// What replicas rely on in the shared PostgreSQL store, with two repositories (two
/// replicas) on one schema: a claim hands each task to one replica only; a lease that
/// expires lets another replica take the task over and fences the former holder out; a
/// renewed lease keeps it; a released task is claimable at once; admission limits hold
/// across replicas, also under concurrent inserts.
@Suite(.tags(.postgres)) struct PostgresTaskRepositoryTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func task(_ id: String, owner: String = "o1", created: Date = t0) -> StoredTask {
        StoredTask(id: id, owner: owner, state: .queued, progress: 0, format: .txt, createdAt: created)
    }

    /// Two replicas on a fresh schema; closed after `body`.
    static func withReplicas(_ body: (PostgresTaskRepository, PostgresTaskRepository) async throws -> Void) async throws {
        let schema = PostgresStore.freshSchema()
        let a = try await PostgresStore.open(schema: schema, replica: "replica-a")
        let b = try await PostgresStore.open(schema: schema, replica: "replica-b")
        do { try await body(a, b) } catch {
            await a.close()
            await b.close()
            throw error
        }
        await a.close()
        await b.close()
    }

    @Test func eachTaskIsClaimedByOneReplicaOnlyOldestFirst() async throws {
        try await Self.withReplicas { a, b async throws in
            for index in 0..<6 {
                try await a.insert(Self.task("t\(index)", created: Self.t0.addingTimeInterval(Double(index))))
            }
            // Both replicas claim at once until the queue is empty.
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for replica in [a, b, a, b] {
                    group.addTask {
                        var ids: [String] = []
                        while let claimed = try await replica.claim(lease: 60) { ids.append(claimed.task.id) }
                        return ids
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.sorted() == (0..<6).map { "t\($0)" }, "every task exactly once: \(claims)")
            #expect(try await b.claim(lease: 60) == nil)
            let held = try await a.renew(ids: claims, lease: 60).union(try await b.renew(ids: claims, lease: 60))
            #expect(held == Set(claims))
        }
        try await Self.withReplicas { a, _ async throws in
            try await a.insert(Self.task("late", created: Self.t0.addingTimeInterval(5)))
            try await a.insert(Self.task("early", created: Self.t0))
            #expect(try await a.claim(lease: 60)?.task.id == "early")
        }
    }

    @Test func anExpiredLeaseIsTakenOverAndFencesTheFormerHolder() async throws {
        try await Self.withReplicas { a, b async throws in
            try await a.insert(Self.task("t"))
            let first = try #require(try await a.claim(lease: 1))
            #expect(first.takenOverFrom == nil)
            _ = try await a.update(id: "t") {
                $0.state = .processing
                $0.progress = 40
            }
            #expect(try await b.claim(lease: 60) == nil, "held by a")
            // a stops renewing (it was killed): b takes the task once the lease has run out.
            let deadline = ContinuousClock.now + .seconds(30)
            var takeover: ClaimedTask?
            while takeover == nil, ContinuousClock.now < deadline {
                takeover = try await b.claim(lease: 60)
                if takeover == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let taken = try #require(takeover, "b never took the task over")
            #expect(taken.takenOverFrom == "replica-a")
            #expect(taken.task.state == .queued, "it starts over")
            #expect(taken.task.progress == 40, "progress never goes back for a client")
            // a, back from its pause, changes nothing any more.
            #expect(try await a.update(id: "t") { $0.state = .success } == nil)
            #expect(try await a.renew(ids: ["t"], lease: 60).isEmpty)
            #expect(try await a.release(id: "t") == false)
            #expect(try await b.update(id: "t") { $0.state = .processing }?.after.state == .processing)
            #expect(try await b.task(id: "t")?.state == .processing)
        }
    }

    @Test func aRenewedLeaseIsNotTakenOver() async throws {
        try await Self.withReplicas { a, b async throws in
            try await a.insert(Self.task("t"))
            let claimedAt = ContinuousClock.now
            _ = try #require(try await a.claim(lease: 1))
            #expect(try await a.renew(ids: ["t", "unknown"], lease: 60) == ["t"])
            // Past the first lease's end: without the renewal b would take it now.
            try await Task.sleep(until: claimedAt + .milliseconds(1500))
            #expect(try await b.claim(lease: 60) == nil)
        }
    }

    @Test func aReleasedTaskIsClaimableAtOnce() async throws {
        try await Self.withReplicas { a, b async throws in
            try await a.insert(Self.task("t"))
            _ = try #require(try await a.claim(lease: 3600))
            _ = try await a.update(id: "t") {
                $0.state = .processing
                $0.progress = 60
                $0.processedAt = Self.t0
                $0.attempts = 1
            }
            #expect(try await b.release(id: "t") == false, "only the holder hands back")
            #expect(try await a.release(id: "t"))
            let taken = try #require(try await b.claim(lease: 60))
            #expect(taken.task.id == "t" && taken.takenOverFrom == nil)
            #expect(taken.task.state == .queued && taken.task.progress == 60 && taken.task.processedAt == nil)
            #expect(taken.task.attempts == 0, "a hand-back gives its run's start back")
        }
    }

    /// Owners take turns at the claim: another owner's task goes before the rest of one
    /// owner's older backlog.
    @Test func claimsTakeTurnsBetweenOwners() async throws {
        try await Self.withReplicas { a, b async throws in
            for index in 0..<3 {
                try await a.insert(Self.task("a\(index)", owner: "oa", created: Self.t0.addingTimeInterval(Double(index))))
            }
            try await a.insert(Self.task("b0", owner: "ob", created: Self.t0.addingTimeInterval(10)))
            var order: [String] = []
            for replica in [a, b, a, b] {
                if let claimed = try await replica.claim(lease: 60) { order.append(claimed.task.id) }
            }
            #expect(order == ["a0", "b0", "a1", "a2"])
        }
    }

    /// A finished task gives its lease and its pending place up.
    @Test func admissionLimitsHoldAcrossReplicas() async throws {
        try await Self.withReplicas { a, b async throws in
            try await a.insert(Self.task("a1", owner: "o1"), maxPending: 3, maxPendingPerOwner: 1)
            await #expect(throws: TaskRepositoryError.refused(.owner)) {
                try await b.insert(Self.task("b1", owner: "o1"), maxPending: 3, maxPendingPerOwner: 1)
            }
            #expect(try await b.pendingCounts(owner: "o1") == (all: 1, owner: 1))
            try await b.insert(Self.task("b2", owner: "o2"), maxPending: 2, maxPendingPerOwner: 1)
            await #expect(throws: TaskRepositoryError.refused(.server)) {
                try await a.insert(Self.task("a3", owner: "o3"), maxPending: 2, maxPendingPerOwner: 1)
            }
            #expect(try await a.task(id: "b1") == nil, "refused tasks are not stored")
            #expect(try await a.task(id: "a3") == nil)

            _ = try #require(try await a.claim(lease: 60))
            _ = try await a.update(id: "a1") { $0.state = .success }
            #expect(try await b.pendingCounts(owner: "o1") == (all: 1, owner: 0))
            #expect(try await a.renew(ids: ["a1"], lease: 60).isEmpty, "an ended task holds no lease")
            try await b.insert(Self.task("b1", owner: "o1"), maxPending: 2, maxPendingPerOwner: 1)
        }
    }

    @Test func concurrentInsertsNeverOvershootALimit() async throws {
        try await Self.withReplicas { a, b async throws in
            let accepted = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<12 {
                    let replica = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        do {
                            try await replica.insert(Self.task("t\(index)"), maxPending: 100, maxPendingPerOwner: 3)
                            return true
                        } catch { return false }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(accepted == 3)
            #expect(try await a.pendingCounts(owner: "o1") == (all: 3, owner: 3))
            #expect(try await a.stateCounts().queued == 3)
        }
    }
}
