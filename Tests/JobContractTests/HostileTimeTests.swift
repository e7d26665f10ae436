import Foundation
import JobContract
import Testing

/// Dates built from outside values (Kafka timestamps of either type, provider timestamps)
/// go through the contracts' encoders without trapping.
@Suite struct HostileTimeTests {
    /// What the Kafka wrapper makes of a record timestamp of `ms` milliseconds.
    static func kafkaDate(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    static let hostileDates: [Date] = [
        kafkaDate(.max), kafkaDate(.min), kafkaDate(-1), kafkaDate(253_402_300_800_000),
        Date(timeIntervalSince1970: 1e300), Date(timeIntervalSince1970: -1e300),
        Date(timeIntervalSince1970: .infinity), Date(timeIntervalSince1970: -.infinity),
        Date(timeIntervalSince1970: .nan), .distantFuture, .distantPast,
    ]

    /// The ones RFC 3339 cannot write (years 0000-9999 hold `distantFuture`, 4001).
    static let unwritableDates: [Date] = [
        kafkaDate(.max), kafkaDate(.min), kafkaDate(253_402_300_800_000), Date(timeIntervalSince1970: 1e300),
        Date(timeIntervalSince1970: -1e300), Date(timeIntervalSince1970: .infinity),
        Date(timeIntervalSince1970: -.infinity), Date(timeIntervalSince1970: .nan),
    ]

    @Test("RFC3339.format never traps and always writes a parseable date-time")
    func formatIsTotal() throws {
        for date in Self.hostileDates {
            let text = RFC3339.format(date)
            #expect(RFC3339.parse(text) != nil, "\(text)")
        }
        #expect(RFC3339.format(Self.kafkaDate(.max)) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(Self.kafkaDate(.min)) == "0000-01-01T00:00:00.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(Self.kafkaDate(1_750_000_000_123)) == "2025-06-15T15:06:40.123Z")
    }

    @Test("a result's timings from an Int64.max ms record and absurd provider times encode, as missing")
    func resultTimingsOfHostileDates() throws {
        for date in Self.unwritableDates {
            let result = JobResult(
                jobID: "j-1", status: .failed, taskID: nil, format: nil, metadata: nil, result: nil,
                error: .init(errorClass: .invalidJob, code: "x", message: "m"),
                timings: .init(
                    enqueuedAt: date, taskCreatedAt: date, taskProcessedAt: date, taskCompletedAt: date,
                    publishedAt: Date(timeIntervalSince1970: 1_750_000_000)),
                attempts: .init(creates: 0, polls: 0), worker: .init(id: "w", version: "1"), traceparent: nil)
            let decoded = try JobResult.decode(result.encodedJSON())
            #expect(decoded.timings.enqueuedAt == nil)
            #expect(decoded.timings.taskCreatedAt == nil)
            #expect(decoded == result)
        }
    }

    @Test("an in-range enqueued time is kept to the millisecond")
    func inRangeTimingsAreKept() throws {
        let date = Self.kafkaDate(1_750_000_000_123)
        let timings = JobResult.Timings(enqueuedAt: date, publishedAt: date)
        #expect(timings.enqueuedAt == Date(timeIntervalSince1970: 1_750_000_000.123))
    }

    @Test("dead-letter headers of extreme timestamps and dates build and parse back")
    func deadLetterHeadersOfHostileValues() throws {
        for timestamp: Int64? in [.max, .min, -1, 0, nil] {
            for date in Self.hostileDates {
                let info = DeadLetterInfo(
                    errorClass: .invalidJob, code: "c", message: "m", createAttempts: .max, pollAttempts: .min,
                    firstSeenAt: date, failedAt: date, taskID: nil, workerID: "w", consumerGroup: nil,
                    origin: .init(topic: "t", partition: .max, offset: .min, timestamp: timestamp, timestampType: .logAppendTime))
                let headers = DeadLetterHeaders.make(info)
                let parsed = try DeadLetterHeaders.parse(headers.pairs)
                #expect(parsed.origin == info.origin)
                #expect(parsed.createAttempts == .max)
                #expect(RFC3339.format(parsed.firstSeenAt) == RFC3339.format(date))
            }
        }
    }
}
