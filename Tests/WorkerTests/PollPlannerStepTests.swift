import Foundation
import Testing

@testable import PollPlanning
@testable import Worker

/// Step-wise progress as a bound on the remaining time (ProgressStep, ProgressTrust's step
/// bound, the planner's `progressBound` rule), for the three shapes a provider may send:
/// linear, 25 % steps, and 0 until done (never trusted); plus progress unrelated to time.
/// Times are passed in; nothing sleeps.
@Suite("Poll planner: step-wise progress")
struct PollPlannerStepTests {
    enum Shape { case linear, steps, zero, unrelated }

    static func progress(_ shape: Shape, elapsed: Double, duration: Double) -> Int {
        let fraction = elapsed / duration
        switch shape {
        case .linear: return Int(100 * fraction)
        case .steps: return Int(4 * fraction) * 25
        case .zero: return 0
        case .unrelated: return 50
        }
    }

    /// One task of `duration` polled every 2 s until done, its progress by `shape`,
    /// through `TaskPollHistory` as the job machine records it.
    static func timing(_ duration: Double, shape: Shape) -> CompletedTaskTiming {
        var history = TaskPollHistory()
        var age = 2.0
        while age < duration {
            history.recordPending(at: .fromSeconds(age), progress: progress(shape, elapsed: age, duration: duration))
            age += 2
        }
        return history.completion(key: PollPlannerTests.key, doneAt: .fromSeconds(age), providerDuration: nil)
    }

    static func trained(_ shape: Shape, count: Int = 40) -> DurationModel {
        let model = DurationModel(settings: PollPlannerTests.settings(), coldStart: PollBackoff())
        for i in 0..<count {
            let seconds = 8 * exp(0.6 * StandardNormal.quantile((Double((i * 17) % count) + 0.5) / Double(count)))
            model.record(timing(seconds, shape: shape))
        }
        return model
    }

    /// The history of a task that showed 25 % at 4 s and 6 s, then 50 % at 8 s and 9 s.
    static var halfway: TaskPollHistory {
        var history = TaskPollHistory()
        history.recordPending(at: .seconds(2), progress: 0)
        history.recordPending(at: .seconds(4), progress: 25)
        history.recordPending(at: .seconds(6), progress: 25)
        history.recordPending(at: .seconds(8), progress: 50)
        history.recordPending(at: .seconds(9), progress: 50)
        return history
    }

    @Test("the history keeps the step, when it was first seen, and the last poll below it; progress going back starts over")
    func history() throws {
        var history = Self.halfway
        #expect(history.step == ProgressStep(progress: 50, firstSeenAt: .seconds(8), lastSeenAt: .seconds(9), lastBelowAt: .seconds(6)))
        // 50 first seen at 8 s: D <= 16 s; 25 still at 6 s: D > 12 s; 50 < 75 at 9 s: D > 12 s.
        #expect(try #require(history.step).durationBounds(step: 25) == 12...16)
        history.recordPending(at: .seconds(10), progress: 25)
        #expect(history.step == ProgressStep(progress: 25, firstSeenAt: .seconds(10), lastSeenAt: .seconds(10), lastBelowAt: .zero))
        // 0 and 100 are no step.
        var silent = TaskPollHistory()
        silent.recordPending(at: .seconds(3), progress: 0)
        #expect(silent.step == nil)
    }

    @Test("25 % steps are trusted as a bound (step 25), not as a linear prediction")
    func stepsTrusted() {
        let planner = Self.trained(.steps).planner(for: PollPlannerTests.key)
        #expect(!planner.progressIsPredictive)
        #expect(planner.progressStepSize == 25)
    }

    @Test("with trusted steps the next poll is placed inside the interval the step leaves, not by the whole tail")
    func stepsNarrow() throws {
        let planner = Self.trained(.steps).planner(for: PollPlannerTests.key)
        let history = Self.halfway
        let bounded = planner.nextPoll(elapsed: .seconds(9), history: history, progress: 50)
        #expect(bounded.basis == .progressBound)
        let pollAt = 9 + bounded.delay.inSeconds
        #expect(pollAt > 12 && pollAt <= 16 * 1.01 + 0.05)
        // P(done by the poll | D in (12, 16.21]) is the done probability.
        let distribution = try #require(planner.distribution)
        let upper = 16 * 1.01 + 0.05
        let conditional = (distribution.cdf(pollAt) - distribution.cdf(12)) / (distribution.cdf(upper) - distribution.cdf(12))
        #expect(abs(conditional - planner.settings.doneProbability) < 0.01)
        // A done probability of its own for polls inside the interval: later, by its odds.
        var patient = planner
        patient.settings.progressBoundDoneProbability = 0.9
        let later = 9 + patient.nextPoll(elapsed: .seconds(9), history: history, progress: 50).delay.inSeconds
        #expect(abs((distribution.cdf(later) - distribution.cdf(12)) / (distribution.cdf(upper) - distribution.cdf(12)) - 0.9) < 0.01)
        // Without the bound the same task is placed by the fit's whole tail (cut by the lag bound).
        var plain = planner
        plain.progressStepSize = nil
        let unbounded = plain.nextPoll(elapsed: .seconds(9), history: history, progress: 50)
        #expect(unbounded.basis != .progressBound)
        #expect(unbounded.delay != bounded.delay)
    }

    @Test("a task pending past its step's upper end drops the bound: the duration fit places its poll")
    func outlivedBound() {
        let planner = Self.trained(.steps).planner(for: PollPlannerTests.key)
        var history = Self.halfway
        history.recordPending(at: .seconds(20), progress: 50)
        let decision = planner.nextPoll(elapsed: .seconds(20), history: history, progress: 50)
        #expect(decision.basis != .progressBound)
        var plain = planner
        plain.progressStepSize = nil
        #expect(decision == plain.nextPoll(elapsed: .seconds(20), history: history, progress: 50))
    }

    @Test("linear progress is trusted both ways (step 1); the linear reading places the poll")
    func linearTrusted() {
        let planner = Self.trained(.linear).planner(for: PollPlannerTests.key)
        #expect(planner.progressIsPredictive)
        #expect(planner.progressStepSize == 1)
        var history = TaskPollHistory()
        history.recordPending(at: .seconds(8), progress: 80)
        #expect(planner.nextPoll(elapsed: .seconds(8), history: history, progress: 80).basis == .progress)
    }

    @Test("progress that stays 0 until done bounds nothing: same decisions as without progress")
    func zeroNotTrusted() {
        let planner = Self.trained(.zero).planner(for: PollPlannerTests.key)
        #expect(!planner.progressIsPredictive)
        #expect(planner.progressStepSize == nil)
        var zeros = TaskPollHistory()
        zeros.recordPending(at: .seconds(9), progress: 0)
        var none = TaskPollHistory()
        none.recordPending(at: .seconds(9), progress: nil)
        #expect(
            planner.nextPoll(elapsed: .seconds(9), history: zeros, progress: 0)
                == planner.nextPoll(elapsed: .seconds(9), history: none, progress: nil))
    }

    @Test("progress unrelated to the time (50 % from the first poll) breaks the bound and is not trusted")
    func unrelatedNotTrusted() {
        let model = Self.trained(.unrelated)
        let planner = model.planner(for: PollPlannerTests.key)
        #expect(planner.progressStepSize == nil)
        #expect(!planner.progressIsPredictive)
    }
}
