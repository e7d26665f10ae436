import Synchronization
import TestSupport
import Testing

@testable import Worker

@Suite("Job claims within one pod")
struct JobClaimsTests {
    private final class Ended: Sendable {
        let value = Mutex(false)
    }

    @Test("a duplicate waits for the driver and is released to re-read the ledger")
    func duplicateWaitsForRelease() async throws {
        let claims = JobClaims()
        #expect(try await claims.claim("job-1"))
        let duplicate = Task { try await claims.claim("job-1") }
        try await waitUntil("the duplicate waits") { claims.waiters(for: "job-1") == 1 }
        claims.release("job-1")
        #expect(try await duplicate.value == false, "a released duplicate does not own the job")
        #expect(try await claims.claim("job-1"), "the next claim owns it again")
    }

    @Test("a duplicate's wait ends when its task is cancelled, while the driver still holds the job")
    func cancelledWaitEnds() async throws {
        let claims = JobClaims()
        #expect(try await claims.claim("job-1"))
        let ended = Ended()
        let duplicate = Task {
            defer { ended.value.withLock { $0 = true } }
            return try await claims.claim("job-1")
        }
        try await waitUntil("the duplicate waits") { claims.waiters(for: "job-1") == 1 }
        duplicate.cancel()
        // The driver has not released the job: only the cancellation can end the wait.
        try await waitUntil("the cancelled wait ends") { ended.value.withLock { $0 } }
        #expect(claims.waiters(for: "job-1") == 0)
        claims.release("job-1")
        await #expect(throws: CancellationError.self) { try await duplicate.value }

        // A task cancelled before it claims does not wait at all.
        #expect(try await claims.claim("job-2"))
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await claims.claim("job-2")
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(claims.waiters(for: "job-2") == 0)
        claims.release("job-2")
    }
}
