import Synchronization
import TestSupport
import Testing

@Suite("Waiting with deadlines")
struct WaitingTests {
    private final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    @Test("withDeadline returns the body's value when it ends in time")
    func inTime() async throws {
        #expect(try await withDeadline(.seconds(10)) { 42 } == 42)
    }

    @Test("withDeadline ends at its deadline even when the body ignores cancellation")
    func bodyIgnoringCancellation() async throws {
        let gate = Gate()
        let bodyEnded = Flag()
        // A bound on the test itself: a helper that waits for its body returns only once
        // the gate opens, and then finds the body ended.
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(5))
            gate.open()
        }
        defer {
            gate.open()
            watchdog.cancel()
        }
        await withKnownIssue("the deadline records an issue") {
            _ = try await withDeadline(.milliseconds(100), "a wedged body") {
                await gate.wait()
                bodyEnded.set()
                return 1
            }
        }
        #expect(!bodyEnded.isSet, "withDeadline returned without waiting for the wedged body")
    }
}
