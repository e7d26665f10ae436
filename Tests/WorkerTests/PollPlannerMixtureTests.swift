import Foundation
import Testing

@testable import PollPlanning
@testable import Worker

/// Durations of two kinds: the two-component mixture (LogNormalMixtureFit), the choice
/// between it and the single log-normal (DurationFit), and the planner's polls from it.
@Suite("Poll planner: two kinds of task")
struct PollPlannerMixtureTests {
    /// 65 % of tasks around 5 s and 35 % around 25 s (sigma 0.25 each), as the bench's
    /// bimodal scenario, at evenly spaced quantiles, interleaved.
    static func bimodal(_ count: Int = 200) -> [Double] {
        let quick = Int(Double(count) * 0.65)
        let slow = count - quick
        var values: [Double] = []
        for i in 0..<quick { values.append(5 * exp(0.25 * StandardNormal.quantile((Double(i) + 0.5) / Double(quick)))) }
        for i in 0..<slow { values.append(25 * exp(0.25 * StandardNormal.quantile((Double(i) + 0.5) / Double(slow)))) }
        return (0..<count).map { values[($0 * 37) % count] }
    }

    static func logNormal(_ count: Int = 200) -> [Double] {
        (0..<count).map { 8 * exp(0.6 * StandardNormal.quantile((Double(($0 * 37) % count) + 0.5) / Double(count))) }
    }

    static func model(_ durations: [Double]) -> DurationModel {
        let model = DurationModel(settings: PollPlannerTests.settings { $0.modelWeight = 0.05 }, coldStart: PollBackoff())
        for seconds in durations {
            model.record(
                CompletedTaskTiming(
                    key: PollPlannerTests.key, notDoneAt: .fromSeconds(seconds / 1.05), doneAt: .fromSeconds(seconds * 1.05),
                    providerDuration: nil, lastProgress: nil))
        }
        return model
    }

    @Test("a mixture's CDF and quantile agree, and the conditional quantile stays in its interval")
    func distribution() {
        let d = DurationDistribution([.init(weight: 0.65, meanLog: log(5), sigma: 0.25), .init(weight: 0.35, meanLog: log(25), sigma: 0.25)])
        for p in [0.05, 0.3, 0.58, 0.65, 0.9, 0.99] {
            #expect(abs(d.cdf(d.quantile(p)) - p) < 1e-6)
        }
        #expect(abs(d.cdf(10) - 0.65) < 0.01)
        let t = d.conditionalQuantile(0.5, after: 10)
        #expect(abs((d.cdf(t) - d.cdf(10)) / (1 - d.cdf(10)) - 0.5) < 1e-6)
        #expect(abs(t - 25) < 1)
        let inside = d.conditionalQuantile(0.5, after: 12, notAfter: 14)
        #expect(inside > 12 && inside < 14)
    }

    @Test("on durations of two kinds the mixture finds both and is preferred")
    func bimodalFound() throws {
        let planner = Self.model(Self.bimodal()).planner(for: PollPlannerTests.key)
        let mixture = try #require(planner.mixture)
        let parts = mixture.components
        #expect(parts.count == 2)
        #expect(abs(parts[0].meanLog - log(5)) < 0.15 && abs(parts[1].meanLog - log(25)) < 0.15)
        #expect(abs(parts[0].weight - 0.65) < 0.1)
        #expect(parts[0].sigma < 0.4 && parts[1].sigma < 0.4)
    }

    @Test("on log-normal durations the single fit stays: the mixture is not clearly better")
    func logNormalKeepsSingle() {
        let planner = Self.model(Self.logNormal()).planner(for: PollPlannerTests.key)
        #expect(planner.isWarm)
        #expect(planner.mixture == nil)
    }

    @Test("polls from the mixture: the first near the quick kind's end, one after it into the slow kind")
    func polls() throws {
        let settings: (inout PollPlanSettings) -> Void = {
            $0.modelWeight = 0.05
            $0.maxLagFraction = 10
            $0.maxLag = .seconds(600)
        }
        let model = DurationModel(settings: PollPlannerTests.settings(settings), coldStart: PollBackoff())
        for seconds in Self.bimodal() {
            model.record(
                CompletedTaskTiming(
                    key: PollPlannerTests.key, notDoneAt: .fromSeconds(seconds / 1.05), doneAt: .fromSeconds(seconds * 1.05),
                    providerDuration: nil, lastProgress: nil))
        }
        let planner = model.planner(for: PollPlannerTests.key)
        let mixture = try #require(planner.mixture).distribution
        let first = planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil)
        #expect(abs(mixture.cdf(first.delay.inSeconds) - 0.55) < 0.01)
        // The single log-normal would wait longer for the quick ones (its hump sits between the kinds).
        var single = planner
        single.mixture = nil
        #expect(single.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil).delay > first.delay + .seconds(1))
        // Pending at 10 s: a slow task; its next poll goes well into the slow kind.
        var history = TaskPollHistory()
        history.recordPending(at: .seconds(10), progress: nil)
        let next = planner.nextPoll(elapsed: .seconds(10), history: history, progress: nil)
        #expect(10 + next.delay.inSeconds > 20)
    }
}
