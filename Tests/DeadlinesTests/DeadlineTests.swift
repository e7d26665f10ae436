import Deadlines
import Synchronization
import TestSupport
import Testing

@Suite("Deadline: a call that gives up whatever it waits on")
struct DeadlineTests {
    private final class Log: Sendable {
        private let entries = Mutex<[String]>([])
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    @Test("the operation's value comes back before the deadline; its hold is not run")
    func valueInTime() async throws {
        let clock = ManualClock()
        let log = Log()
        let value = try await Deadline.run(within: .seconds(5), clock: clock) { abandonment in
            abandonment.hold { log.add("cleanup") }
            defer { abandonment.hold(nil) }
            return 7
        }
        #expect(value == 7)
        #expect(log.all.isEmpty)
    }

    @Test("at the deadline the caller gets nil at once, the wedged operation's hold runs, and a late value goes to late")
    func deadlinePassesAWedgedOperation() async throws {
        let clock = ManualClock()
        let log = Log()
        let gate = Gate()
        defer { gate.open() }
        let call = Task {
            try await Deadline.run(within: .seconds(5), clock: clock) { abandonment in
                abandonment.hold { log.add("cleanup") }
                defer { abandonment.hold(nil) }
                await gate.wait()
                return 9
            } late: { value in
                log.add("late \(value)")
            }
        }
        try await waitUntil("the deadline's timer sleeps") { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(5))
        // The operation is still wedged: only the deadline can have ended the call.
        #expect(try await call.value == nil)
        #expect(log.all == ["cleanup"])
        gate.open()
        try await waitUntil("the late value is handed over") { log.all == ["cleanup", "late 9"] }
    }

    @Test("a cancelled caller gets CancellationError at once; a hold taken after that runs at once")
    func cancelledCaller() async throws {
        let clock = ManualClock()
        let log = Log()
        let gate = Gate()
        let started = Gate()
        defer { gate.open() }
        let call = Task {
            try await Deadline.run(within: .seconds(5), clock: clock) { abandonment in
                started.open()
                await gate.wait()
                // Taken after the caller left: released at once.
                abandonment.hold { log.add("cleanup after") }
                return 1
            }
        }
        await started.wait()
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(log.all.isEmpty)
        gate.open()
        try await waitUntil("the late hold is released") { log.all == ["cleanup after"] }
    }

    @Test("the operation's own error comes back as thrown")
    func operationError() async throws {
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            _ = try await Deadline.run(within: .seconds(5), clock: ManualClock()) { _ -> Int in throw Boom() }
        }
    }
}
