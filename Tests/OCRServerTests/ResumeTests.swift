import Foundation
import OCRTaskAPI
import TestSupport
import Testing

@testable import OCRServer

/// Start-up with tasks the previous process left unfinished, built by hand in a data
/// directory: one whose source is gone fails with a state and detail that say so; the
/// directory of a task that is no longer pending is cleared.
@Suite(.tags(.tesseract)) struct ResumeTests {
    @Test func unfinishedTaskWithoutItsSourceFailsClearly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let owner = APIKeyRing(keys: [TestServer.key]).ownerID(of: 0)
        do {
            let repository = try SQLiteTaskRepository(path: directory.appendingPathComponent("tasks.sqlite").path)
            try repository.insert(
                StoredTask(id: "lost-source", owner: owner, state: .processing, progress: 40, format: .txt, createdAt: Date()))
            try repository.insert(
                StoredTask(id: "finished", owner: owner, state: .failed, progress: 0, format: .txt, createdAt: Date()))
        }
        let leftover = directory.appendingPathComponent("tasks/finished")
        try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)

        let server = try await TestServer.start { $0.dataDirectory = directory }
        let api = API(base: server.base)
        let record = try await api.waitTerminal("lost-source", seconds: 30)
        #expect(record["state"] as? Int == TaskState.failed.rawValue)
        let detail = record["state_detail"] as? String ?? ""
        #expect(detail.contains("restarted") && detail.contains("create the task again"), "\(record)")
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        // The store's counters were rebuilt and released: the key is not held at a pending task.
        let counts = try await api.send(.GET, "/stats").json
        #expect(counts["tasks_queued"] as? Int == 0 && counts["tasks_running"] as? Int == 0)
        await server.stop()
    }
}
