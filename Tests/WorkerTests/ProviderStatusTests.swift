import OCRClient
import TestSupport
import Testing

@testable import Worker

/// What `/readyz` and `ocr_provider_paused` show about the provider: a key refused, a
/// circuit open, or a `Retry-After` pause, and for how much longer.
@Suite("Provider status")
struct ProviderStatusTests {
    let now = ContinuousClock.now

    @Test("a Retry-After pause is shown with its remaining time; none means available")
    func retryAfter() {
        let paused = ProviderStatus(condition: .healthy, budgetPause: .seconds(42), now: now)
        #expect(paused.state == .retryAfter)
        #expect(paused.remainingSeconds == 42)
        #expect(ProviderStatus(condition: .healthy, budgetPause: nil, now: now) == ProviderStatus(state: .available))
    }

    @Test("an open circuit comes first, for the longer of its time and the pause; a 401 has no end")
    func circuitAndKey() {
        let open = ProviderStatus(condition: .open(until: now + .seconds(10), openFor: .seconds(10)), budgetPause: .seconds(3), now: now)
        #expect(open.state == .circuitOpen && open.remainingSeconds == 10)
        let halfOpen = ProviderStatus(condition: .open(until: now - .seconds(1), openFor: .seconds(10)), budgetPause: nil, now: now)
        #expect(halfOpen.state == .available, "past its open time the circuit lets calls through")
        let refused = ProviderStatus(condition: .unauthorized(since: now), budgetPause: .seconds(3), now: now)
        #expect(refused.state == .unauthorized && refused.remaining == nil)
    }

    @Test("the request budget tells how much of a provider's Retry-After is left")
    func budgetPause() {
        let clock = ManualClock()
        let budget = RequestBudget(configuration: .init(requestsPerSecond: 2, burst: 1), clock: clock)
        #expect(budget.remainingPause == nil)
        budget.recordThrottle(retryAfter: .seconds(30))
        #expect(budget.remainingPause == .seconds(30))
        clock.advance(by: .seconds(20))
        #expect(budget.remainingPause == .seconds(10))
        clock.advance(by: .seconds(10))
        #expect(budget.remainingPause == nil)
    }
}
