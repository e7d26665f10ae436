import Testing
import Worker

@Suite("Provider health")
struct ProviderHealthTests {
    @Test("a 401 stops calls until a success, whatever the failure count")
    func unauthorized() {
        var health = ProviderHealth(failureThreshold: 3)
        let now = ContinuousClock.now
        health.recordUnauthorized(now: now)
        #expect(!health.allowsCalls(now: now + .seconds(3600)))
        #expect(!health.isHealthy)
        health.recordFailure(now: now)
        #expect(!health.allowsCalls(now: now + .seconds(3600)), "still unauthorized, not merely open")
        health.recordSuccess()
        #expect(health.allowsCalls(now: now) && health.isHealthy)
    }

    @Test("the circuit opens after the threshold, half-opens after its time, and backs off when probes fail")
    func circuit() {
        var health = ProviderHealth(failureThreshold: 3, openDuration: .seconds(5), maxOpenDuration: .seconds(12))
        let t0 = ContinuousClock.now
        health.recordFailure(now: t0)
        health.recordFailure(now: t0)
        #expect(health.allowsCalls(now: t0), "below the threshold")
        health.recordFailure(now: t0)
        #expect(!health.allowsCalls(now: t0 + .seconds(4)))
        #expect(health.allowsCalls(now: t0 + .seconds(5)), "half-open after 5 s")
        health.recordFailure(now: t0 + .seconds(5))
        #expect(!health.allowsCalls(now: t0 + .seconds(14)), "open again for 10 s")
        #expect(health.allowsCalls(now: t0 + .seconds(15)))
        health.recordFailure(now: t0 + .seconds(15))
        #expect(health.allowsCalls(now: t0 + .seconds(27)), "capped at 12 s")
        health.recordSuccess()
        #expect(health.isHealthy && health.consecutiveFailures == 0)
    }
}
