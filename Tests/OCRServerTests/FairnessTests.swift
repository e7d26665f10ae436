import Foundation
import TestSupport
import Testing

@testable import OCRServer

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
            try await waitUntil("A's three downloads at the limit") {
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
            try await waitUntil("A's first on the engine, two queued") {
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
