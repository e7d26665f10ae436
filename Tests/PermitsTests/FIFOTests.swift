import Permits
import Synchronization
import TestSupport
import Testing

/// One key: a plain FIFO semaphore (the worker's create limit, the engine slots).
@Suite("Permit queue: first come, first served")
struct FIFOTests {
    @Test("one permit: bodies never overlap, and waiters get the permit in arrival order")
    func onePermitInOrder() async throws {
        let gate = PermitQueue(limit: 1)
        let order = OrderRecorder()
        let probe = GateProbe()

        // The first holder parks inside the gate until released, so the others queue.
        let first = Task {
            try await gate.withPermit {
                order.append("first")
                await probe.park()
            }
        }
        try await waitUntil { probe.isParked }
        var others: [Task<Void, any Error>] = []
        for i in 0..<5 {
            others.append(
                Task {
                    try await gate.withPermit {
                        probe.enter()
                        order.append("w\(i)")
                        await Task.yield()
                        probe.leave()
                    }
                })
            // Queue them one after the other, so the arrival order is known.
            try await waitUntil { gate.waiting == i + 1 }
        }
        probe.unpark()
        try await first.value
        for t in others { try await t.value }
        #expect(order.values == ["first", "w0", "w1", "w2", "w3", "w4"])
        #expect(probe.maxInside == 1)
    }

    @Test("a waiter cancelled in the queue leaves it with CancellationError and never runs its body")
    func cancelledWaiterLeaves() async throws {
        let gate = PermitQueue(limit: 1)
        let probe = GateProbe()
        let holder = Task { try await gate.withPermit { await probe.park() } }
        try await waitUntil { probe.isParked }
        let ran = OrderRecorder()
        let waiter = Task { try await gate.withPermit { ran.append("ran") } }
        try await waitUntil { gate.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.waiting == 0)
        probe.unpark()
        try await holder.value
        #expect(ran.values.isEmpty)
        // The permit came back: the next caller gets it at once.
        let value = try await gate.withPermit { 42 }
        #expect(value == 42)
    }
}

/// Parks a holder inside the gate and counts bodies running at once.
private final class GateProbe: Sendable {
    private let state = Mutex<(parked: CheckedContinuation<Void, Never>?, inside: Int, maxInside: Int)>((nil, 0, 0))

    func park() async { await withCheckedContinuation { c in state.withLock { $0.parked = c } } }
    var isParked: Bool { state.withLock { $0.parked != nil } }
    func unpark() {
        state.withLock { s in
            defer { s.parked = nil }
            return s.parked
        }?.resume()
    }

    func enter() {
        state.withLock { s in
            s.inside += 1
            s.maxInside = max(s.maxInside, s.inside)
        }
    }
    func leave() { state.withLock { $0.inside -= 1 } }
    var maxInside: Int { state.withLock { $0.maxInside } }
}
