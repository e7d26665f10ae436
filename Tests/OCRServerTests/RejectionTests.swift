import Foundation
import Testing

/// Refusals thrown by any controller render PicWish's envelope and are counted by status
/// on `/stats`.
@Suite struct RejectionTests {
    @Test func refusalsRenderTheEnvelopeAndAreCounted() async throws {
        try await withRouterServer { api, _ in
            expectRejected(try await api.query("no-such-task", key: .some(nil)), 401, containing: "X-API-KEY")
            expectRejected(try await api.query("no-such-task"), 404, containing: "task not found")
            expectRejected(try await api.send(.GET, "/results/x.txt?expires=1&signature=x", key: .some(nil)), 403)
            let rejected = try await api.send(.GET, "/stats", key: .some(nil)).json["rejected_by_status"] as? [String: Int]
            #expect(rejected == ["401": 1, "404": 1, "403": 1], "\(String(describing: rejected))")
        }
    }
}
