import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real executable across SIGTERM and a new start on the same data directory: tasks
/// and results are durable, links made before the restart still verify, the drain
/// refuses creates and hands unfinished tasks back, and they finish after the restart.
@Suite(.serialized, .tags(.e2e, .tesseract)) struct RestartTests {
    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// `copies` copies of the two-page sample in one PDF (2 × copies pages): a task that
    /// keeps the single engine busy for a while.
    static func longPDF(copies: Int, in directory: URL) async throws -> Data {
        let sample = Repo.samples.appendingPathComponent("two-pages.pdf").path
        let output = directory.appendingPathComponent("long.pdf")
        _ = try await run("/usr/bin/qpdf", ["--empty", "--pages"] + Array(repeating: sample, count: copies) + ["--", output.path])
        return try Data(contentsOf: output)
    }

    /// The task's state as the stopped server left it in its database (sqlite3 command).
    static func storedState(_ id: String, data: URL) async throws -> String {
        try await run(
            "/usr/bin/sqlite3", [data.appendingPathComponent("tasks.sqlite").path, "SELECT state FROM tasks WHERE task_id = '\(id)'"]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func mode(_ url: URL) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int ?? -1
    }

    /// Waits until the server refuses creates (readiness 503), then checks a create gets
    /// PicWish's envelope with 503.
    static func expectDraining(_ server: ServerProcess, _ api: API) async throws {
        try await server.waitUntil(seconds: 20, "readiness 503 after SIGTERM") { try await server.get("/readyz").status == 503 }
        let refused = try await api.create([.file("image_file", "clean.png", try Repo.sample("clean.png")), .field("format", "txt")])
        expectRejected(refused, 503, containing: "shutting down")
        #expect(refused.headers.contains { $0.0.lowercased() == "retry-after" })
    }

    @Test func finishedAndUnfinishedTasksSurviveARestart() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let port = try LoopbackPort.reserve()
        let long = try await Self.longPDF(copies: 2, in: root)
        let png = try Repo.sample("clean.png")
        let arguments = ["--workers", "1", "--drain-timeout-seconds", "240"]

        let first = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
        let api = API(base: first.base)
        // Finished before the restart: its record, result and link must survive.
        let done = try await api.createTask([.file("image_file", "clean.png", png), .field("format", "txt")])
        let doneRecord = try await api.waitTerminal(done, seconds: 240)
        #expect(doneRecord["state"] as? Int == 1)
        let link = try #require(doneRecord["file"] as? String)
        let before = try await api.send(.GET, link, key: .some(nil))
        #expect(before.status == 200 && !before.body.isEmpty)

        // One task on the only engine, one queued behind it when SIGTERM comes.
        let running = try await api.createTask([.file("image_file", "long.pdf", long), .field("format", "txt")])
        let queued = try await api.createTask([.file("image_file", "clean.png", png), .field("format", "pdf")])
        try await first.waitUntil(seconds: 240, "the long task running") {
            (try await api.query(running).data["state"] as? Int ?? 0) > 1
        }
        first.signal(SIGTERM)
        try await Self.expectDraining(first, api)
        #expect(try await api.query(done).data["state"] as? Int == 1, "queries are answered while draining")
        #expect(try await first.waitForExit(seconds: 240) == 0, "\(first.logTail())")

        // What the stopped server left: the running task finished within the drain, the
        // queued one is still queued with its source kept; everything private.
        #expect(try await Self.storedState(running, data: data) == "1")
        #expect(try await Self.storedState(queued, data: data) == "0")
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("tasks/\(queued)/upload").path))
        #expect(try Self.mode(data) == 0o700)
        for file in ["tasks.sqlite", "signing-key", "results/\(done).txt"] {
            #expect(try Self.mode(data.appendingPathComponent(file)) == 0o600, "\(file)")
        }

        let second = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
        let again = API(base: second.base)
        let doneAfter = try await again.query(done)
        #expect(doneAfter.status == 200 && doneAfter.data["state"] as? Int == 1)
        #expect(doneAfter.data["file"] as? String == link, "the same link: same expiry, same persisted key")
        let after = try await again.send(.GET, link, key: .some(nil))
        #expect(after.status == 200 && after.body == before.body, "the link from before the restart still downloads")
        #expect(try await again.query(done, key: .some(TestServer.otherKey)).status == 401)

        let runningAfter = try await again.waitTerminal(running, seconds: 60)
        #expect(runningAfter["state"] as? Int == 1)
        let queuedAfter = try await again.waitTerminal(queued, seconds: 240)
        #expect(queuedAfter["state"] as? Int == 1, "the handed-back task ran after the restart: \(queuedAfter)")
        if let file = queuedAfter["file"] as? String {
            let result = try await again.send(.GET, file, key: .some(nil))
            #expect(result.status == 200 && result.body.starts(with: Data("%PDF".utf8)))
        } else {
            Issue.record("no result link for the resumed task")
        }
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("tasks/\(queued)").path), "source gone once done")
        second.signal(SIGTERM)
        #expect(try await second.waitForExit(seconds: 60) == 0)
    }

    /// SIGTERM while a task is on the engine with a short drain timeout: the server
    /// refuses creates at once, exits 0 soon after the timeout, leaves the task queued,
    /// and the next start runs it to the end.
    @Test func sigtermDrainsThenHandsTheRunningTaskBack() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let port = try LoopbackPort.reserve()
        // 16 pages: far more than a 1 s drain lets an engine finish, on any machine.
        let long = try await Self.longPDF(copies: 8, in: root)
        let drainTimeout = 1.0
        let arguments = ["--workers", "1", "--drain-timeout-seconds", "\(Int(drainTimeout))"]

        let first = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
        let api = API(base: first.base)
        let id = try await api.createTask([.file("image_file", "long.pdf", long), .field("format", "txt")])
        try await first.waitUntil(seconds: 240, "the task processing pages") {
            (try await api.query(id).data["state"] as? Int ?? 0) == 4
        }
        let signalled = ContinuousClock.now
        first.signal(SIGTERM)
        try await Self.expectDraining(first, api)
        #expect(try await first.waitForExit(seconds: drainTimeout + 60) == 0, "\(first.logTail())")
        let took = ContinuousClock.now - signalled
        #expect(took < .seconds(drainTimeout + 20), "exit \(took) after SIGTERM with a \(drainTimeout) s drain")
        #expect(try await Self.storedState(id, data: data) == "0", "handed back: queued for the next start")

        let second = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
        let again = API(base: second.base)
        let record = try await again.waitTerminal(id, seconds: 300)
        #expect(record["state"] as? Int == 1, "\(record)")
        let file = try #require(record["file"] as? String)
        let text = try await again.send(.GET, file, key: .some(nil)).text
        #expect(text.components(separatedBy: "\u{0C}").count == 16, "all 16 pages after the restart")
        second.signal(SIGTERM)
        #expect(try await second.waitForExit(seconds: 60) == 0)
    }

    /// No drain at all (SIGKILL mid-task): the task is still recorded as running, and the
    /// next start queues it again from its kept source and runs it to the end.
    @Test func aKilledServerResumesItsRunningTask() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let port = try LoopbackPort.reserve()
        let long = try await Self.longPDF(copies: 3, in: root)
        let arguments = ["--workers", "1"]

        let first = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
        let api = API(base: first.base)
        let id = try await api.createTask([.file("image_file", "long.pdf", long), .field("format", "txt")])
        try await first.waitUntil(seconds: 240, "the task processing pages") {
            (try await api.query(id).data["state"] as? Int ?? 0) == 4
        }
        first.signal(SIGKILL)
        _ = try await first.waitForExit(seconds: 30)
        #expect(try await Self.storedState(id, data: data) == "4", "killed mid-task: still recorded as processing")

        let second = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
        let again = API(base: second.base)
        let record = try await again.waitTerminal(id, seconds: 300)
        #expect(record["state"] as? Int == 1, "\(record)")
        let file = try #require(record["file"] as? String)
        let text = try await again.send(.GET, file, key: .some(nil)).text
        #expect(text.components(separatedBy: "\u{0C}").count == 6, "all six pages after the restart")
        second.signal(SIGTERM)
        #expect(try await second.waitForExit(seconds: 60) == 0)
    }
}
