import TestSupport
import Testing
import Worker

@Suite("Poll scheduler")
struct PollSchedulerTests {
    @Test("waiters resume in due order from one loop, and an earlier entry wakes the loop")
    func dueOrder() async throws {
        let scheduler = PollScheduler()
        let loop = Task { await scheduler.run() }
        let order = OrderRecorder()
        let start = ContinuousClock.now
        // The far entry first, so the loop sleeps toward it and must be woken for the
        // others. The gaps are wide so that a loaded machine cannot reorder them: a CI
        // run starved this test past a 5 s far entry; 30 s runs alongside the slower
        // end-to-end suites without lengthening the run.
        let far = Duration.seconds(30)
        async let c: Void = {
            try await scheduler.wait(until: start + far)
            order.append("c")
        }()
        try await waitUntil { scheduler.waiting == 1 }
        async let a: Void = {
            try await scheduler.wait(until: start + .milliseconds(200))
            order.append("a")
        }()
        async let b: Void = {
            try await scheduler.wait(until: start + .milliseconds(1200))
            order.append("b")
        }()
        try await waitUntil { order.values.contains("a") }
        #expect(ContinuousClock.now - start < far, "the earlier entry woke the loop before the far one was due")
        _ = try await (a, b, c)
        #expect(order.values == ["a", "b", "c"])
        #expect(ContinuousClock.now - start >= far, "nothing resumes before it is due")
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
