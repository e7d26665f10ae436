import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two real `ocr-server` processes on one PostgreSQL store (`--store`, a schema of the
/// test's own) and one shared directory, each with a data directory of its own: any
/// replica answers and serves any task; a key's pending limit counts both replicas' tasks;
/// a replica killed mid-task has the task finished by the other once its lease expires; a
/// replica that drains hands its task to the other at once.
@Suite(.serialized, .tags(.e2e, .postgres, .tesseract)) struct ReplicaTests {
    struct Cluster {
        let root: URL
        let shared: URL
        let arguments: [String]

        init(lease: Int, extra: [String] = []) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-replicas-\(UUID().uuidString)")
            shared = root.appendingPathComponent("shared")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            arguments =
                [
                    "--store", try PostgresStore.url(schema: PostgresStore.freshSchema()), "--shared-dir", shared.path,
                    "--lease-seconds", "\(lease)", "--workers", "1",
                ] + extra
        }

        func start(_ name: String) async throws -> ServerProcess {
            try await ServerProcess.start(
                dataDirectory: root.appendingPathComponent(name), port: try LoopbackPort.reserve(), extraArguments: arguments)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    /// Which of `replicas` has its engine busy (the one running the only task), waiting
    /// for one to say so.
    static func runner(of replicas: [ServerProcess]) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            for (index, replica) in replicas.enumerated() {
                if let stats = try? await replica.get("/stats").json, stats["engines_busy"] as? Int == 1 { return index }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("no replica ran the task within 120 s")
    }

    @Test func tasksCreatedOnOneReplicaArePolledAndDownloadedThroughTheOther() async throws {
        let cluster = try Cluster(lease: 2)
        defer { cluster.remove() }
        let a = try await cluster.start("a")
        let b = try await cluster.start("b")
        let onA = API(base: a.base)
        let onB = API(base: b.base)
        let png = try Repo.sample("clean.png")

        for (creator, poller) in [(onA, onB), (onB, onA)] {
            let id = try await creator.createTask([.file("image_file", "clean.png", png), .field("format", "txt")])
            let record = try await poller.waitTerminal(id, seconds: 240)
            #expect(record["state"] as? Int == 1, "\(record)")
            let link = try #require(record["file"] as? String)
            #expect(link.hasPrefix(poller.base), "the link points at the replica asked: \(link)")
            let downloaded = try await poller.send(.GET, link, key: .some(nil))
            #expect(downloaded.status == 200 && downloaded.text.contains("quick"), "\(downloaded.status) \(downloaded.text)")
            // The same signed link verifies on the other replica too: one key, shared.
            let path = String(link.dropFirst(poller.base.count))
            let elsewhere = try await creator.send(.GET, path, key: .some(nil))
            #expect(elsewhere.status == 200 && elsewhere.body == downloaded.body)
            let forged = try await creator.send(.GET, path.replacingOccurrences(of: "signature=", with: "signature=x"), key: .some(nil))
            #expect(forged.status == 403)
            #expect(try await creator.query(id).data["file"] as? String != nil, "both replicas answer the task")
        }
        #expect(try await onB.query("00000000-0000-0000-0000-000000000000").status == 404)
        for replica in [a, b] { replica.signal(SIGTERM) }
        for replica in [a, b] { #expect(try await replica.waitForExit(seconds: 60) == 0, "\(replica.logTail())") }
    }

    @Test func aKilledReplicasTaskCompletesOnTheOther() async throws {
        let cluster = try Cluster(lease: 2, extra: ["--max-pending-per-key", "1"])
        defer { cluster.remove() }
        let long = try await RestartTests.longPDF(copies: 3, in: cluster.root)
        let replicas = [try await cluster.start("a"), try await cluster.start("b")]
        let id = try await API(base: replicas[0].base).createTask([.file("image_file", "long.pdf", long), .field("format", "txt")])
        let running = try await Self.runner(of: replicas)
        // The key's one pending place is taken on the other replica too.
        let refused = try await API(base: replicas[1 - running].base).create([
            .file("image_file", "clean.png", try Repo.sample("clean.png")), .field("format", "txt"),
        ])
        expectRejected(refused, 429, containing: "too many tasks pending for this API key")
        try await replicas[running].waitUntil(seconds: 240, "the task processing pages") {
            (try await API(base: replicas[running].base).query(id).data["state"] as? Int ?? 0) == 4
        }
        replicas[running].signal(SIGKILL)
        _ = try await replicas[running].waitForExit(seconds: 30)

        let survivor = replicas[1 - running]
        let api = API(base: survivor.base)
        let record = try await api.waitTerminal(id, seconds: 300)
        #expect(record["state"] as? Int == 1, "\(record)")
        let file = try #require(record["file"] as? String)
        let text = try await api.send(.GET, file, key: .some(nil)).text
        #expect(text.components(separatedBy: "\u{0C}").count == 6, "all six pages on the survivor")
        #expect(survivor.logTail(lines: 400).contains("task taken over"), "after the lease expired: \(survivor.logTail())")
        survivor.signal(SIGTERM)
        #expect(try await survivor.waitForExit(seconds: 60) == 0)
    }

    /// A lease far longer than the test: the other replica can only have the task because
    /// the draining one released it.
    @Test func aDrainingReplicaHandsItsTaskToTheOtherAtOnce() async throws {
        let cluster = try Cluster(lease: 600, extra: ["--drain-timeout-seconds", "0"])
        defer { cluster.remove() }
        let long = try await RestartTests.longPDF(copies: 3, in: cluster.root)
        let replicas = [try await cluster.start("a"), try await cluster.start("b")]
        let id = try await API(base: replicas[0].base).createTask([.file("image_file", "long.pdf", long), .field("format", "txt")])
        let running = try await Self.runner(of: replicas)
        replicas[running].signal(SIGTERM)
        #expect(try await replicas[running].waitForExit(seconds: 60) == 0, "\(replicas[running].logTail())")
        #expect(replicas[running].logTail(lines: 400).contains("task handed back"))

        let survivor = replicas[1 - running]
        let record = try await API(base: survivor.base).waitTerminal(id, seconds: 240)
        #expect(record["state"] as? Int == 1, "\(record)")
        #expect(!survivor.logTail(lines: 400).contains("task taken over"), "released, not expired")
        survivor.signal(SIGTERM)
        #expect(try await survivor.waitForExit(seconds: 60) == 0)
    }
}
