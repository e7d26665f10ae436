import Foundation
import Testing

/// When bubblewrap cannot start, ocr-server says so at start-up (`/healthz`) and fails
/// office tasks with a reason that names the sandbox, not the document.
@Suite struct OfficeSandboxStartupTests {
    static let bwrapMessage = "bwrap: No permissions to creating new namespace"

    @Test func brokenSandboxShowsOnHealthAndInTheTaskReason() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-bwrap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bwrap = directory.appendingPathComponent("bwrap")
        try Data("#!/bin/sh\necho '\(Self.bwrapMessage)' >&2\nexit 1\n".utf8).write(to: bwrap)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bwrap.path)
        let reason = "the office sandbox (bubblewrap) could not start: \(Self.bwrapMessage)"

        let server = try await TestServer.start { $0.bwrapPath = bwrap.path }
        do {
            let api = API(base: server.base)
            // The start-up probe runs in the background: wait for its verdict.
            let deadline = ContinuousClock.now + .seconds(30)
            var office = "unknown"
            while office == "unknown", ContinuousClock.now < deadline {
                office = try await api.send(.GET, "/healthz", key: .some(nil)).json["office_inputs"] as? String ?? "missing"
                if office == "unknown" { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(office == "unavailable: " + reason)

            let document = Data("PK\u{03}\u{04}word/document.xml and nothing else".utf8)
            let id = try await api.createTask([.file("image_file", "a.docx", document), .field("language", "English")])
            let result = try await api.waitTerminal(id, seconds: 60)
            #expect(result["state"] as? Int == -1, "\(result)")
            #expect(result["state_detail"] as? String == reason, "\(result)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
