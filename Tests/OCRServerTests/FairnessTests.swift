import Foundation
import Synchronization
import TestSupport
import Testing

@testable import OCRServer

/// Per-key fairness of downloads, preparations and engines: one key's backlog or slow
/// sources never starve another key's task.
@Suite struct FairLimitTests {
    /// Bodies that run until the test lets them go, recording the order they started in.
    final class Bodies: Sendable {
        private let started = Mutex<[String]>([])
        private let gates = Mutex<[String: AsyncStream<Void>.Continuation]>([:])

        var order: [String] { started.withLock { $0 } }

        /// Runs `name` under `limit` for `key` in a task of its own.
        func launch(_ name: String, key: String, on limit: FairLimit) -> Task<Void, any Error> {
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

    /// Polls `condition` every 2 ms until it holds, failing after 10 s.
    static func until(_ what: String, _ condition: @escaping @Sendable () async -> Bool) async throws {
        try await withDeadline(seconds: 10, what) {
            while !(await condition()) { try await Task.sleep(for: .milliseconds(2)) }
        }
    }

    /// Launches `name` and waits until it runs.
    static func running(_ name: String, key: String, on limit: FairLimit, _ bodies: Bodies) async throws -> Task<Void, any Error> {
        let task = bodies.launch(name, key: key, on: limit)
        try await until("\(name) running") { bodies.order.contains(name) }
        return task
    }

    /// Launches `name` and waits until it waits for a permit.
    static func waiting(_ name: String, key: String, on limit: FairLimit, _ bodies: Bodies) async throws -> Task<Void, any Error> {
        let before = await limit.waiting
        let task = bodies.launch(name, key: key, on: limit)
        try await until("\(name) waiting") { await limit.waiting == before + 1 }
        return task
    }

    /// Lets the bodies in `names` finish one by one, each time waiting for the next body to
    /// start (but after the last).
    static func finish(_ names: [String], _ bodies: Bodies) async throws {
        for (index, name) in names.enumerated() {
            let count = bodies.order.count
            bodies.finish(name)
            if index + 1 < names.count { try await until("after \(name)") { bodies.order.count == count + 1 } }
        }
    }

    @Test func aWaitingKeyWithNothingRunningGoesBeforeAnotherKeysBacklog() async throws {
        let limit = FairLimit(1)
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
        let limit = FairLimit(1)
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
        let limit = FairLimit(2, keepsOneForIdleKeys: true)
        let bodies = Bodies()
        let a1 = try await Self.running("a1", key: "A", on: limit, bodies)
        let a2 = try await Self.waiting("a2", key: "A", on: limit, bodies)
        let b1 = try await Self.running("b1", key: "B", on: limit, bodies)
        bodies.finish("b1")
        try await b1.value
        #expect(await limit.waiting == 1, "A still holds one: the free permit stays kept")
        try await Self.finish(["a1", "a2"], bodies)
        try await a1.value
        try await a2.value
        #expect(bodies.order == ["a1", "b1", "a2"])
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let limit = FairLimit(1)
        let bodies = Bodies()
        let a1 = try await Self.running("a1", key: "A", on: limit, bodies)
        let a2 = try await Self.waiting("a2", key: "A", on: limit, bodies)
        a2.cancel()
        await #expect(throws: CancellationError.self) { try await a2.value }
        #expect(await limit.waiting == 0)
        bodies.finish("a1")
        try await a1.value
        #expect(bodies.order == ["a1"])
    }
}

/// The fair limits in the server: a key's slow `image_url` sources, and its backlog on the
/// engine, do not hold up another key's quick PNG.
@Suite(.tags(.tesseract)) struct FairnessTests {
    /// Key A's three sources never answer; with two download slots, A gets one and the
    /// other stays for another key, so key B's PNG downloads and finishes at once.
    @Test func oneKeysSlowSourcesDoNotHoldEveryDownload() async throws {
        let slow = try SilentListener()
        defer { slow.close() }
        let quick = try await ScriptedServer.start()
        quick.reply("/clean.png", .bytes(Array(try Repo.sample("clean.png"))))
        defer { Task { await quick.stop() } }
        let quickPort = quick.port
        try await withRouterServer({
            $0.concurrentDownloads = 2
            $0.allowAnyPort = true
            $0.allowPrivateSources = true
            $0.downloadTimeout = 600
        }) { api, _ in
            for index in 0..<3 {
                _ = try await api.createTask([.field("image_url", "http://127.0.0.1:\(slow.port)/slow-\(index).png")])
            }
            try await FairLimitTests.until("A's three downloads at the limit") {
                let stats = (try? await api.send(.GET, "/stats", key: .some(nil)).json) ?? [:]
                return (stats["downloads_in_progress"] as? Int ?? 0) + (stats["downloads_waiting"] as? Int ?? 0) == 3
            }
            var other = api
            other.key = TestServer.otherKey
            let id = try await other.createTask([
                .field("image_url", "http://127.0.0.1:\(quickPort)/clean.png"), .field("language", "English"),
            ])
            let record = try await other.waitTerminal(id, seconds: 60)
            #expect(record["state"] as? Int == 1, "\(record)")
        }
    }

    /// One engine; key A queues three PDFs, key B one PNG: B's task runs as soon as the
    /// engine is free, before A's last one.
    @Test func anotherKeysTaskRunsBeforeAKeysBacklog() async throws {
        let pdf = try Repo.sample("two-pages.pdf")
        let png = try Repo.sample("clean.png")
        try await withRouterServer({ $0.workers = 1 }) { api, _ in
            var backlog: [String] = []
            for _ in 0..<3 { backlog.append(try await api.createTask([.file("image_file", "a.pdf", pdf)])) }
            try await FairLimitTests.until("A's first on the engine, two queued") {
                let stats = (try? await api.send(.GET, "/stats", key: .some(nil)).json) ?? [:]
                return stats["engines_busy"] as? Int == 1 && stats["tasks_queued"] as? Int == 2
            }
            var other = api
            other.key = TestServer.otherKey
            let id = try await other.createTask([.file("image_file", "b.png", png), .field("language", "English")])
            #expect(try await other.waitTerminal(id, seconds: 120)["state"] as? Int == 1)
            let last = try await api.query(backlog[2]).data
            #expect(last["state"] as? Int == 0, "A's last task still queued when B's finished: \(last)")
        }
    }
}
