import Foundation
import Ledger
import TestSupport
import Testing

@Suite(.tags(.postgres)) struct LedgerHostileDateTests {
    @Test("dates no millisecond count or PostgreSQL timestamptz can hold are clamped, never a trap")
    func extremeDatesAreClamped() async throws {
        let ledger = try await makeLedger(url: "sqlite::memory:")
        for (index, seconds) in [1e300, -1e300, Double.infinity, Double.nan, 9.3e15, -9.3e15].enumerated() {
            let (record, _) = try await ledger.accept(
                jobID: "j\(index)", fingerprint: "f", at: Date(timeIntervalSince1970: seconds))
            #expect(record.firstSeenAt.timeIntervalSince1970 >= -62_135_596_800)
            #expect(record.firstSeenAt.timeIntervalSince1970 <= 253_402_300_800)
        }
        await ledger.close()
    }
}
