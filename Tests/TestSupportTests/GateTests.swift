import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("Gate: an operation that ignores cancellation")
struct GateTests {
    @Test("a waiter, cancelled or not, goes on only when the gate opens; a wait after that returns at once")
    func opensOnlyWhenOpened() async throws {
        let gate = Gate()
        let passed = Mutex(0)
        let waiter = Task {
            await gate.wait()
            passed.withLock { $0 += 1 }
        }
        waiter.cancel()
        try await Task.sleep(for: .milliseconds(50))
        #expect(passed.withLock { $0 } == 0, "a cancelled waiter went through a closed gate")
        gate.open()
        await waiter.value
        #expect(passed.withLock { $0 } == 1)
        await gate.wait()
        #expect(gate.isOpen)
    }

    /// More cancelled waiters than the cooperative pool has threads: a gate that polled
    /// with `Task.sleep` would hold every thread (a cancelled sleep throws at once, without
    /// suspending), and the task that opens the gate would never run.
    @Test("cancelled waiters hold no thread: other work runs, and it can open the gate")
    func cancelledWaitersHoldNoThread() async throws {
        let gate = Gate()
        let waiters = (0..<(ProcessInfo.processInfo.activeProcessorCount + 2)).map { _ in Task { await gate.wait() } }
        for waiter in waiters { waiter.cancel() }
        let opener = Task {
            try await Task.sleep(for: .milliseconds(20))
            gate.open()
        }
        try await withDeadline(.seconds(30), "the waiters after the gate opened") {
            for waiter in waiters { await waiter.value }
        }
        try await opener.value
    }
}
