import Foundation
import OCRClient
import OCRTaskAPI
import Testing

/// A `Retry-After` on a successful task query: read from the reply (seconds or an
/// HTTP-date, checked and capped) and handed back with the record, never taken for
/// throttling. Dates are converted against a fixed `now`.
@Suite struct QueriedTaskTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000) // Fri, 15 Jan 2027 08:00:00 GMT

    @Test func secondsAndDatesAreConvertedAndCapped() {
        #expect(QueriedTask.pollRetryAfter("7", now: Self.now) == .seconds(7))
        #expect(QueriedTask.pollRetryAfter(" 2.5 ", now: Self.now) == .milliseconds(2500))
        #expect(QueriedTask.pollRetryAfter("Fri, 15 Jan 2027 08:00:30 GMT", now: Self.now) == .seconds(30))
        // Absurd: capped at five minutes, whether as seconds or as a date decades ahead.
        #expect(QueriedTask.pollRetryAfter("999999999999", now: Self.now) == QueriedTask.maximumRetryAfter)
        #expect(QueriedTask.pollRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now: Self.now) == .seconds(300))
        // Nothing to wait for, or nothing readable.
        for value in ["0", "Thu, 14 Jan 2027 08:00:00 GMT", "-5", "soon", "", "1e9", "NaN"] {
            #expect(QueriedTask.pollRetryAfter(value, now: Self.now) == nil, "\(value)")
        }
        #expect(QueriedTask.pollRetryAfter(nil, now: Self.now) == nil)
    }

    @Test func aSuccessfulPollReplyCarriesItsRetryAfter() async throws {
        try await Harness.run { h in
            h.server.setState(.processing, for: "task-ra")
            h.server.inject(.queryHeaders([("Retry-After", "12")]))
            let reply = try await h.client.queryTaskReply("task-ra")
            #expect(reply.record.taskID == "task-ra" && reply.record.state == .processing)
            #expect(reply.retryAfter == .seconds(12))
            // Advice about this task, not throttling: the key's budget is not cut.
            #expect(h.client.budget.throttles == 0)
            let plain = try await h.client.queryTaskReply("task-ra")
            #expect(plain.retryAfter == nil)
        }
    }
}
