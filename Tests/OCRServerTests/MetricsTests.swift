import Foundation
import TestSupport
import Testing

@testable import OCRServer

/// `/metrics` in Prometheus' text format: tasks by outcome and state, pages, engines,
/// queue depth and age, downloads, refusals.
@Suite(.tags(.tesseract)) struct MetricsTests {
    /// The value of the sample `name` (with its labels, as exposed) in `text`.
    static func value(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    @Test func tasksPagesEnginesAndRefusalsAreExposed() async throws {
        try await withRouterServer({ $0.workers = 1 }) { api, _ in
            let id = try await api.createTask([.file("image_file", "clean.png", try Repo.sample("clean.png")), .field("language", "English")])
            #expect(try await api.waitTerminal(id)["state"] as? Int == 1)
            let broken = try await api.createTask([.file("image_file", "x.png", Data("not an image".utf8))])
            #expect(try await api.waitTerminal(broken)["state"] as? Int == -7)
            _ = try await api.query("no-such-task", key: .some(nil))
            let reply = try await api.send(.GET, "/metrics", key: .some(nil))
            #expect(reply.status == 200)
            #expect(reply.headers.contains { $0.0.lowercased() == "content-type" && $0.1.hasPrefix("text/plain; version=0.0.4") })
            let text = reply.text
            let expected: [(String, Double)] = [
                ("ocr_server_tasks_created_total", 2),
                (#"ocr_server_tasks_ended_total{outcome="succeeded",state="success"}"#, 1),
                (#"ocr_server_tasks_ended_total{outcome="failed",state="invalid_file"}"#, 1),
                ("ocr_server_pages_total", 1),
                (#"ocr_server_rejections_total{status="401"}"#, 1),
                (#"ocr_server_tasks{state="queued"}"#, 0),
                (#"ocr_server_tasks{state="running"}"#, 0),
                ("ocr_server_oldest_queued_task_age_seconds", 0),
                ("ocr_server_engines", 1),
                ("ocr_server_engines_busy", 0),
                ("ocr_server_downloads_in_progress", 0),
                ("ocr_server_draining", 0),
            ]
            for (name, value) in expected {
                #expect(Self.value(name, in: text) == value, "\(name) in:\n\(text)")
            }
            #expect(!text.contains(TestServer.key), "no key in the metrics")
        }
    }
}
