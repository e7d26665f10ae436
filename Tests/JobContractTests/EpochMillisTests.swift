import Foundation
import JobContract
import Testing

@Suite struct EpochMillisTests {
    @Test("DeadLetterInfo.Origin.epochMillis: exact in range, nil where no Int64 holds it, never a trap")
    func epochMillis() {
        #expect(DeadLetterInfo.Origin.epochMillis(nil) == nil)
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: 1_750_000_000.123)) == 1_750_000_000_123)
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: 0)) == 0)
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: -0.0015)) == -2)
        // Int64.max ms as the Kafka wrapper turns it into a Date: 2^63 ms does not fit.
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: Double(Int64.max) / 1000)) == nil)
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: Double(Int64.min) / 1000)) == Int64.min)
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: 1e300)) == nil)
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: .nan)) == nil)
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: -.infinity)) == nil)
        // The largest timestamps a Double still holds exactly round-trip.
        let big: Int64 = 1 << 52
        #expect(DeadLetterInfo.Origin.epochMillis(Date(timeIntervalSince1970: Double(big) / 1000)) == big)
    }

    @Test("truncating to the millisecond is idempotent (found by FuzzJobRecord: 28 ms became 27 ms, then 26)")
    func truncationIsIdempotent() throws {
        for ms in Int64(0)...5000 {
            let date = RFC3339.truncatedToMilliseconds(Date(timeIntervalSince1970: Double(ms) / 1000))
            #expect(RFC3339.milliseconds(date) == ms)
            #expect(RFC3339.truncatedToMilliseconds(date) == date)
            let parsed = try #require(RFC3339.parse(RFC3339.format(date)))
            #expect(parsed.date == date, "\(ms)")
        }
    }

    @Test("RFC3339.milliseconds and representable bound dates to years 0000-9999")
    func representable() {
        #expect(RFC3339.milliseconds(Date(timeIntervalSince1970: 253_402_300_799.999)) == 253_402_300_799_999)
        #expect(RFC3339.milliseconds(Date(timeIntervalSince1970: 253_402_300_800)) == nil)
        #expect(RFC3339.milliseconds(Date(timeIntervalSince1970: -62_167_219_200)) == -62_167_219_200_000)
        #expect(RFC3339.milliseconds(Date(timeIntervalSince1970: -62_167_219_200.001)) == nil)
        #expect(RFC3339.representable(Date(timeIntervalSince1970: .nan)) == nil)
        #expect(RFC3339.representable(Date(timeIntervalSince1970: 1.2345)) == Date(timeIntervalSince1970: 1.234))
    }
}
