import Foundation
import OCRTaskAPI
import Testing

/// Provider replies with values no sane provider sends: nothing traps, out-of-range values
/// read as missing.
@Suite struct HostileReplyTests {
    func record(_ json: String) throws -> TaskRecord {
        try JSONDecoder().decode(TaskRecord.self, from: Data(json.utf8))
    }

    @Test("timestamps outside years 0000-9999 (huge, negative, fractional, NaN) read as missing")
    func outOfRangeTimestampsAreMissing() throws {
        for value in [
            #""9223372036854775807""#, #""-9223372036854775808""#, "9223372036854775807", #""1e300""#,
            #""NaN""#, #""inf""#, #""-1e15""#, "1e300", #""253402300800""#, #""-62167219201""#,
            #""99999999999999999999999""#,
        ] {
            let r = try record(#"{"task_id":"t","state":4,"created_at":\#(value),"processed_at":\#(value),"completed_at":\#(value)}"#)
            #expect(r.createdAt == nil, "\(value)")
            #expect(r.processedAt == nil, "\(value)")
            #expect(r.completedAt == nil, "\(value)")
        }
        let edge = try record(#"{"task_id":"t","state":4,"created_at":"253402300799","completed_at":"-62167219200","processed_at":"1700000000.9"}"#)
        #expect(edge.createdAt == UnixTimestamp(seconds: 253_402_300_799))
        #expect(edge.completedAt == UnixTimestamp(seconds: -62_167_219_200))
        #expect(edge.processedAt == UnixTimestamp(seconds: 1_700_000_000))
    }

    @Test("UnixTimestamp from any Date never traps")
    func timestampFromAnyDate() {
        for seconds in [1e300, -1e300, .infinity, -.infinity, .nan, 9.3e18, -9.3e18] {
            _ = UnixTimestamp(Date(timeIntervalSince1970: seconds))
        }
        #expect(UnixTimestamp(Date(timeIntervalSince1970: 1e300)).seconds == UnixTimestamp.validSeconds.upperBound)
        #expect(UnixTimestamp(Date(timeIntervalSince1970: -.infinity)).seconds == UnixTimestamp.validSeconds.lowerBound)
        #expect(UnixTimestamp(Date(timeIntervalSince1970: .nan)).seconds == 0)
        #expect(UnixTimestamp(Date(timeIntervalSince1970: 1_700_000_000.7)).seconds == 1_700_000_000)
    }

    @Test("progress out of range is clamped, huge or non-numeric states fail the decode, never trap")
    func progressAndState() throws {
        #expect(try record(#"{"task_id":"t","state":4,"progress":1e300}"#).progress == nil)
        #expect(try record(#"{"task_id":"t","state":4,"progress":-5}"#).progress == 0)
        #expect(try record(#"{"task_id":"t","state":4,"progress":"9223372036854775807"}"#).progress == 100)
        for state in ["1e300", #""99999999999999999999""#, "9223372036854775808", #""NaN""#] {
            #expect(throws: DecodingError.self, "\(state)") { try record(#"{"task_id":"t","state":\#(state)}"#) }
        }
        #expect(try record(#"{"task_id":"t","state":9223372036854775807}"#).state.isRunning)
    }

    @Test("Retry-After: a date centuries away is capped at a year, never a trap")
    func retryAfterFarFuture() throws {
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        for value in [
            "Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 06 Nov 292277026596 08:49:37 GMT", "Fri, 31 Dec 99999999 23:59:59 GMT",
        ] {
            if let delay = RetryAfter.parse(value, now: now) {
                #expect(delay <= .seconds(86_400 * 365), "\(value)")
            }
        }
        #expect(RetryAfter.parse("1e400", now: now) == nil)
        #expect(RetryAfter.parse("99999999999999999999999", now: now) == .seconds(86_400 * 365))
    }

    @Test("a provider's Retry-After beyond five minutes is cut to five minutes; shorter ones are kept")
    func retryAfterIsCapped() {
        for status in [408, 429, 500, 503] {
            #expect(OutcomePolicy.action(status: status, endpoint: .query, retryAfter: .seconds(86_400)) == .retryLater(after: .seconds(300)))
            #expect(OutcomePolicy.action(status: status, endpoint: .create, retryAfter: .seconds(3600)) == .retryLater(after: .seconds(300)))
            #expect(OutcomePolicy.action(status: status, endpoint: .create, retryAfter: .seconds(12)) == .retryLater(after: .seconds(12)))
            #expect(OutcomePolicy.action(status: status, endpoint: .query, retryAfter: nil) == .retryLater(after: nil))
        }
    }
}
