import Foundation
import Ledger
import Logging
import TestSupport
import Testing

@testable import Worker

@Suite("Create claim renewals")
struct CreateClaimRenewalsTests {
    private static let every = Duration.seconds(10)

    /// A ledger with one job claimed once (`createAttempts` 1), a manual clock and the renewals.
    private func setUp() async throws -> (FlakyLedger, ManualClock, CreateClaimRenewals) {
        let ledger = try await FlakyLedger.inMemory()
        _ = try await ledger.accept(jobID: "job-1", fingerprint: "f", at: Date())
        let claimed = try await ledger.claimCreate(jobID: "job-1", expectedCreateAttempts: 0, at: Date())
        #expect(claimed.createAttempts == 1)
        let clock = ManualClock()
        let renewals = CreateClaimRenewals(every: Self.every, ledger: ledger, clock: clock, logger: Logger(label: "test"))
        return (ledger, clock, renewals)
    }

    @Test("a held claim is renewed once per interval until released, then the loop ends")
    func renewedUntilReleased() async throws {
        let (ledger, clock, renewals) = try await setUp()
        renewals.hold(jobID: "job-1", createAttempts: 1)
        try await waitUntil { clock.sleeperCount == 1 }
        #expect(ledger.calls("renewCreateClaim") == 0)

        clock.advance(by: Self.every)
        try await waitUntil { ledger.calls("renewCreateClaim") == 1 && clock.sleeperCount == 1 }
        clock.advance(by: Self.every)
        try await waitUntil { ledger.calls("renewCreateClaim") == 2 && clock.sleeperCount == 1 }

        renewals.release(jobID: "job-1")
        clock.advance(by: Self.every)
        try await waitUntil { !renewals.isLooping }
        #expect(ledger.calls("renewCreateClaim") == 2)
        #expect(clock.sleeperCount == 0)
    }

    @Test("a claim another driver replaced is dropped at its first refused renewal")
    func replacedClaimIsDropped() async throws {
        let (ledger, clock, renewals) = try await setUp()
        renewals.hold(jobID: "job-1", createAttempts: 1)
        // Another driver took the job over: the claim is now its (createAttempts 2).
        _ = try await ledger.claimCreate(jobID: "job-1", expectedCreateAttempts: 1, at: Date())
        try await waitUntil { clock.sleeperCount == 1 }

        clock.advance(by: Self.every)
        try await waitUntil { ledger.calls("renewCreateClaim") == 1 && clock.sleeperCount == 1 }
        clock.advance(by: Self.every)
        try await waitUntil { !renewals.isLooping }
        #expect(ledger.calls("renewCreateClaim") == 1)
    }

    @Test("a renewal the ledger could not write is tried again at the next tick")
    func outageIsRetried() async throws {
        let (ledger, clock, renewals) = try await setUp()
        ledger.fail("renewCreateClaim", times: 1)
        renewals.hold(jobID: "job-1", createAttempts: 1)
        try await waitUntil { clock.sleeperCount == 1 }

        clock.advance(by: Self.every)
        try await waitUntil { ledger.calls("renewCreateClaim") == 1 && clock.sleeperCount == 1 }
        clock.advance(by: Self.every)
        try await waitUntil { ledger.calls("renewCreateClaim") == 2 && clock.sleeperCount == 1 }
        #expect(renewals.isLooping)
        let record = try #require(try await ledger.record(jobID: "job-1"))
        #expect(record.state == .creating)
        renewals.release(jobID: "job-1")
        clock.advance(by: Self.every)
        try await waitUntil { !renewals.isLooping }
    }
}
