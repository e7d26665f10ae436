import Foundation
import OCRTaskAPI
import TestSupport
import Testing

@testable import OCRServer

#if canImport(Glibc)
    import Glibc
#endif

/// A task that brings the server down is not run forever: each start of a run is counted
/// in the task's record before the run does anything risky, a drain's hand-back gives the
/// start back, and a task that started 3 times without ending fails with state -8.
@Suite(.serialized, .tags(.e2e)) struct AttemptTests {
    /// The attempts the stopped server left in its database (sqlite3 command).
    static func storedAttempts(_ id: String, data: URL) async throws -> Int? {
        Int(
            try await run(
                "/usr/bin/sqlite3",
                [data.appendingPathComponent("tasks.sqlite").path, "SELECT attempts FROM tasks WHERE task_id = '\(id)'"]
            ).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Each crash is a SIGKILL while the task runs (its source never answers, so the run
    /// is in its download); each restart on the same data directory runs it again, until
    /// the fourth start fails it instead.
    @Test func aTaskStartedThreeTimesWithoutEndingFailsWithMinus8() async throws {
        let root = try RestartTests.scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let port = try LoopbackPort.reserve()
        let source = try SilentListener()
        defer { source.close() }
        let arguments = ["--workers", "1", "--allow-any-port", "--allow-private-sources", "--download-timeout", "600"]
        var id = ""
        for attempt in 1...3 {
            let server = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
            let api = API(base: server.base)
            if attempt == 1 {
                id = try await api.createTask([.field("image_url", "http://127.0.0.1:\(source.port)/hangs.png")])
            }
            let task = id
            try await server.waitUntil(seconds: 30, "start \(attempt) recorded") {
                try await Self.storedAttempts(task, data: data) == attempt
            }
            #expect(try await api.query(id).data["state"] as? Int == 0, "still queued, downloading")
            server.signal(SIGKILL)
            _ = try await server.waitForExit(seconds: 30)
        }
        let server = try await ServerProcess.start(dataDirectory: data, port: port, extraArguments: arguments)
        let record = try await API(base: server.base).waitTerminal(id, seconds: 30)
        #expect(record["state"] as? Int == TaskState.processingTimeout.rawValue, "\(record)")
        let detail = record["state_detail"] as? String ?? ""
        #expect(detail.contains("started 3 times without finishing"), "\(record)")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("tasks/\(id)").path), "its source is gone")
        let metrics = try await server.get("/metrics").text
        #expect(metrics.contains("ocr_server_task_attempts_exhausted_total 1"), "\(metrics)")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit(seconds: 60) == 0)
    }

    /// A drain ends a run in order: the task goes back to the queue with its start given
    /// back, so rolling restarts never use a task's attempts up.
    @Test func aHandBackGivesTheStartBack() async throws {
        let source = try SilentListener()
        defer { source.close() }
        let server = try await TestServer.start {
            $0.allowAnyPort = true
            $0.allowPrivateSources = true
            $0.downloadTimeout = 600
        }
        let data = server.dataDirectory
        let repository: @Sendable () throws -> SQLiteTaskRepository = {
            try SQLiteTaskRepository(path: data.appendingPathComponent("tasks.sqlite").path)
        }
        let id: String
        do {
            id = try await API(base: server.base).createTask([.field("image_url", "http://127.0.0.1:\(source.port)/hangs.png")])
            try await withDeadline(.seconds(30), "the start recorded") {
                while try repository().task(id: id)?.attempts != 1 { try await Task.sleep(for: .milliseconds(50)) }
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop(keepingData: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let task = try #require(try repository().task(id: id))
        #expect(task.state == .queued && task.attempts == 0, "\(task)")
    }
}
