import PollPlanning
import Testing
import Worker

@Suite("Poll backoff")
struct PollBackoffTests {
    let backoff = PollBackoff(first: .seconds(1), factor: 1.5, cap: .seconds(15))

    @Test("grows by 1.5 from 1 s to the 15 s cap")
    func growth() {
        let delays = (0..<10).map { backoff.delay(afterPolls: $0, progress: nil, elapsed: .zero) }
        #expect(delays[0] == .seconds(1))
        #expect(delays[1] == .milliseconds(1500))
        #expect(delays[2] == .milliseconds(2250))
        #expect(delays.last == .seconds(15))
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test("progress shortens the wait to the estimated time left, never below the first delay")
    func progressEstimate() {
        // 20 s elapsed at 80 %: about 5 s left, less than the 15 s backoff.
        #expect(backoff.delay(afterPolls: 9, progress: 80, elapsed: .seconds(20)) == .seconds(5))
        // 99 % after 10 s: ~0.1 s left, but never below 1 s.
        #expect(backoff.delay(afterPolls: 9, progress: 99, elapsed: .seconds(10)) == .seconds(1))
        // A slow task at 10 %: the backoff (smaller than the estimate) wins.
        #expect(backoff.delay(afterPolls: 2, progress: 10, elapsed: .seconds(30)) == .milliseconds(2250))
    }
}
