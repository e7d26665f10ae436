import Kafka
import Testing
import Worker

@Suite("Offset tracker")
struct OffsetTrackerTests {
    let p0 = TopicPartition(topic: "jobs", partition: 0)
    let p1 = TopicPartition(topic: "jobs", partition: 1)

    @Test("out-of-order finishes commit only the contiguous prefix")
    func outOfOrder() {
        var tracker = OffsetTracker()
        for o in Int64(10)...14 { tracker.started(p0, offset: o) }
        #expect(tracker.committable(p0) == 10, "nothing finished: commit stays at the first outstanding")
        tracker.finished(p0, offset: 12)
        tracker.finished(p0, offset: 11)
        #expect(tracker.committable(p0) == 10, "10 still runs")
        tracker.finished(p0, offset: 10)
        #expect(tracker.committable(p0) == 13, "10, 11, 12 done; 13 outstanding")
        tracker.finished(p0, offset: 14)
        tracker.finished(p0, offset: 13)
        #expect(tracker.committable(p0) == 15, "all done: one past the highest seen")
        #expect(tracker.inFlight == 0)
    }

    @Test("pending commits list only partitions that moved since their last commit")
    func pendingCommits() {
        var tracker = OffsetTracker()
        tracker.started(p0, offset: 0)
        tracker.started(p1, offset: 5)
        tracker.finished(p0, offset: 0)
        let first = tracker.pendingCommits()
        #expect(first == [TopicPartitionOffset(p0, offset: 1), TopicPartitionOffset(p1, offset: 5)])
        tracker.committed(first)
        #expect(tracker.pendingCommits().isEmpty)
        tracker.finished(p1, offset: 5)
        #expect(tracker.pendingCommits() == [TopicPartitionOffset(p1, offset: 6)])
        #expect(tracker.pendingCommits(for: [p0]).isEmpty)
    }

    @Test("revoked partitions are forgotten")
    func removal() {
        var tracker = OffsetTracker()
        tracker.started(p0, offset: 3)
        tracker.started(p1, offset: 4)
        tracker.remove([p0])
        #expect(tracker.inFlight == 1)
        #expect(tracker.committable(p0) == nil)
        #expect(tracker.inFlight(in: p1) == 1)
    }
}

@Suite("Poll backoff")
struct PollBackoffTests {
    let backoff = PollBackoff(first: .seconds(1), factor: 1.5, cap: .seconds(15))

    @Test("grows by 1.5 from 1 s to the 15 s cap")
    func growth() {
        let delays = (0..<10).map { backoff.delay(afterPolls: $0, progress: nil, elapsed: .zero) }
        #expect(delays[0] == .seconds(1))
        #expect(delays[1] == .milliseconds(1500))
        #expect(delays[2] == .milliseconds(2250))
        #expect(delays.last == .seconds(15))
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test("progress shortens the wait to the estimated time left, never below the first delay")
    func progressEstimate() {
        // 20 s elapsed at 80 %: about 5 s left, less than the 15 s backoff.
        #expect(backoff.delay(afterPolls: 9, progress: 80, elapsed: .seconds(20)) == .seconds(5))
        // 99 % after 10 s: ~0.1 s left, but never below 1 s.
        #expect(backoff.delay(afterPolls: 9, progress: 99, elapsed: .seconds(10)) == .seconds(1))
        // A slow task at 10 %: the backoff (smaller than the estimate) wins.
        #expect(backoff.delay(afterPolls: 2, progress: 10, elapsed: .seconds(30)) == .milliseconds(2250))
    }
}

@Suite("Provider health")
struct ProviderHealthTests {
    @Test("a 401 stops calls until a success, whatever the failure count")
    func unauthorized() {
        var health = ProviderHealth(failureThreshold: 3)
        let now = ContinuousClock.now
        health.recordUnauthorized(now: now)
        #expect(!health.allowsCalls(now: now + .seconds(3600)))
        #expect(!health.isHealthy)
        health.recordFailure(now: now)
        #expect(!health.allowsCalls(now: now + .seconds(3600)), "still unauthorized, not merely open")
        health.recordSuccess()
        #expect(health.allowsCalls(now: now) && health.isHealthy)
    }

    @Test("the circuit opens after the threshold, half-opens after its time, and backs off when probes fail")
    func circuit() {
        var health = ProviderHealth(failureThreshold: 3, openDuration: .seconds(5), maxOpenDuration: .seconds(12))
        let t0 = ContinuousClock.now
        health.recordFailure(now: t0)
        health.recordFailure(now: t0)
        #expect(health.allowsCalls(now: t0), "below the threshold")
        health.recordFailure(now: t0)
        #expect(!health.allowsCalls(now: t0 + .seconds(4)))
        #expect(health.allowsCalls(now: t0 + .seconds(5)), "half-open after 5 s")
        health.recordFailure(now: t0 + .seconds(5))
        #expect(!health.allowsCalls(now: t0 + .seconds(14)), "open again for 10 s")
        #expect(health.allowsCalls(now: t0 + .seconds(15)))
        health.recordFailure(now: t0 + .seconds(15))
        #expect(health.allowsCalls(now: t0 + .seconds(27)), "capped at 12 s")
        health.recordSuccess()
        #expect(health.isHealthy && health.consecutiveFailures == 0)
    }
}

@Suite("Poll scheduler")
struct PollSchedulerTests {
    @Test("waiters resume in due order from one loop, and an earlier entry wakes the loop")
    func dueOrder() async throws {
        let scheduler = PollScheduler()
        let loop = Task { await scheduler.run() }
        let order = OrderRecorder()
        let start = ContinuousClock.now
        // The far entry first, so the loop sleeps toward it and must be woken for the
        // others. The gaps are wide so that a loaded machine cannot reorder them.
        async let c: Void = { try await scheduler.wait(until: start + .seconds(5)); order.append("c") }()
        try await waitUntil { scheduler.waiting == 1 }
        async let a: Void = { try await scheduler.wait(until: start + .milliseconds(200)); order.append("a") }()
        async let b: Void = { try await scheduler.wait(until: start + .milliseconds(1200)); order.append("b") }()
        try await waitUntil { order.values.contains("a") }
        #expect(ContinuousClock.now - start < .seconds(5), "the earlier entry woke the loop before the far one was due")
        _ = try await (a, b, c)
        #expect(order.values == ["a", "b", "c"])
        #expect(ContinuousClock.now - start >= .seconds(5), "nothing resumes before it is due")
        scheduler.stop()
        await loop.value
    }

    @Test("a cancelled waiter leaves the queue at once")
    func cancellation() async throws {
        let scheduler = PollScheduler()
        let loop = Task { await scheduler.run() }
        let waiter = Task { try await scheduler.wait(until: .now + .seconds(3600)) }
        try await waitUntil { scheduler.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(scheduler.waiting == 0)
        scheduler.stop()
        await loop.value
    }
}
