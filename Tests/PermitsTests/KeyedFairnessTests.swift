import Permits
import Synchronization
import TestSupport
import Testing

/// Per-key fairness (ocr-server's downloads, preparations and engines): one key's backlog
/// or slow sources never starve another key's task.
@Suite("Permit queue: fair among keys") struct KeyedFairnessTests {
    /// Bodies that run until the test lets them go, recording the order they started in.
    final class Bodies: Sendable {
        private let started = Mutex<[String]>([])
        private let gates = Mutex<[String: AsyncStream<Void>.Continuation]>([:])

        var order: [String] { started.withLock { $0 } }

        /// Runs `name` under `limit` for `key` in a task of its own.
        func launch(_ name: String, key: String, on limit: PermitQueue) -> Task<Void, any Error> {
            let (gate, open) = AsyncStream.makeStream(of: Void.self)
            gates.withLock { $0[name] = open }
            return Task {
                try await limit.withPermit(key: key) {
                    self.started.withLock { $0.append(name) }
                    for await _ in gate {}
                }
            }
        }

        func finish(_ name: String) { gates.withLock { $0[name] }?.finish() }
    }

    /// Launches `name` and waits until it runs.
    static func running(_ name: String, key: String, on limit: PermitQueue, _ bodies: Bodies) async throws -> Task<Void, any Error> {
        let task = bodies.launch(name, key: key, on: limit)
        try await waitUntil("\(name) running") { bodies.order.contains(name) }
        return task
    }

    /// Launches `name` and waits until it waits for a permit.
    static func waiting(_ name: String, key: String, on limit: PermitQueue, _ bodies: Bodies) async throws -> Task<Void, any Error> {
        let before = limit.waiting
        let task = bodies.launch(name, key: key, on: limit)
        try await waitUntil("\(name) waiting") { limit.waiting == before + 1 }
        return task
    }

    /// Lets the bodies in `names` finish one by one, each time waiting for the next body to
    /// start (but after the last).
    static func finish(_ names: [String], _ bodies: Bodies) async throws {
        for (index, name) in names.enumerated() {
            let count = bodies.order.count
            bodies.finish(name)
            if index + 1 < names.count { try await waitUntil("after \(name)") { bodies.order.count == count + 1 } }
        }
    }

    @Test func aWaitingKeyWithNothingRunningGoesBeforeAnotherKeysBacklog() async throws {
        let limit = PermitQueue(limit: 1)
        let bodies = Bodies()
        var tasks = [try await Self.running("a1", key: "A", on: limit, bodies)]
        for (name, key) in [("a2", "A"), ("a3", "A"), ("b1", "B")] {
            tasks.append(try await Self.waiting(name, key: key, on: limit, bodies))
        }
        try await Self.finish(["a1", "b1", "a2", "a3"], bodies)
        for task in tasks { try await task.value }
        #expect(bodies.order == ["a1", "b1", "a2", "a3"])
    }

    /// Two keys with backlogs take turns.
    @Test func keysWithBacklogsTakeTurns() async throws {
        let limit = PermitQueue(limit: 1)
        let bodies = Bodies()
        var tasks = [try await Self.running("a0", key: "A", on: limit, bodies)]
        for (name, key) in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B")] {
            tasks.append(try await Self.waiting(name, key: key, on: limit, bodies))
        }
        try await Self.finish(["a0", "b1", "a1", "b2", "a2"], bodies)
        for task in tasks { try await task.value }
        #expect(bodies.order == ["a0", "b1", "a1", "b2", "a2"])
    }

    /// With `keepsOneForIdleKeys`, a key that holds a permit never takes the last one: a
    /// key with nothing running starts at once however slow the first key's work is.
    @Test func theLastPermitIsKeptForAKeyWithNothingRunning() async throws {
        let limit = PermitQueue(limit: 2, keepsOneForIdleKeys: true)
        let bodies = Bodies()
        let a1 = try await Self.running("a1", key: "A", on: limit, bodies)
        let a2 = try await Self.waiting("a2", key: "A", on: limit, bodies)
        let b1 = try await Self.running("b1", key: "B", on: limit, bodies)
        bodies.finish("b1")
        try await b1.value
        #expect(limit.waiting == 1, "A still holds one: the free permit stays kept")
        try await Self.finish(["a1", "a2"], bodies)
        try await a1.value
        try await a2.value
        #expect(bodies.order == ["a1", "b1", "a2"])
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let limit = PermitQueue(limit: 1)
        let bodies = Bodies()
        let a1 = try await Self.running("a1", key: "A", on: limit, bodies)
        let a2 = try await Self.waiting("a2", key: "A", on: limit, bodies)
        a2.cancel()
        await #expect(throws: CancellationError.self) { try await a2.value }
        #expect(limit.waiting == 0)
        bodies.finish("a1")
        try await a1.value
        #expect(bodies.order == ["a1"])
    }
}
