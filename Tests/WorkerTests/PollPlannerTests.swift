import Foundation
import Ledger
import OCRTaskAPI
import Testing

@testable import PollPlanning
@testable import Worker

/// The poll planner's decisions (Sources/Worker/PollPlanning): cold start, where the first
/// poll goes, conditioning on a pending poll, the lag bound, the progress shapes, and
/// Retry-After. Times are passed in: no clock is read and nothing sleeps.
@Suite("Poll planner")
struct PollPlannerTests {
    static let key = DurationKey(provider: "api.test", format: "txt")

    /// Settings with equal weights for the first 1000 tasks, so a fit of a fixed sample is exact.
    static func settings(_ change: (inout PollPlanSettings) -> Void = { _ in }) -> PollPlanSettings {
        var s = PollPlanSettings(provider: "api.test", coldStartTasks: 20, doneProbability: 0.55, modelWeight: 0.001)
        change(&s)
        return s
    }

    enum Shape { case linear, steps, zero }

    /// `count` durations at the evenly spaced quantiles of a log-normal (median 8 s, sigma
    /// 0.6), each seen by a pending poll 5 % before its end and a done poll 5 % after it
    /// (so the interval's geometric middle is the duration itself).
    static func trained(_ settings: PollPlanSettings, count: Int = 40, shape: Shape = .zero) -> DurationModel {
        let model = DurationModel(settings: settings, coldStart: PollBackoff())
        for i in 0..<count {
            let seconds = 8 * exp(0.6 * StandardNormal.quantile((Double(i) + 0.5) / Double(count)))
            model.record(timing(seconds, shape: shape))
        }
        return model
    }

    static func timing(_ seconds: Double, shape: Shape, key: DurationKey = key) -> CompletedTaskTiming {
        let pendingAt = Duration.fromSeconds(seconds / 1.05)
        let progress: ProgressSample?
        switch shape {
        case .linear: progress = ProgressSample(elapsed: pendingAt, progress: 95) // floor(100 / 1.05)
        case .steps: progress = ProgressSample(elapsed: pendingAt, progress: 75) // 25 % steps: floor(4 / 1.05) x 25
        case .zero: progress = nil
        }
        return CompletedTaskTiming(
            key: key, notDoneAt: pendingAt, doneAt: .fromSeconds(seconds * 1.05), providerDuration: nil, lastProgress: progress)
    }

    static func pending(_ elapsed: [Double], progress: Int? = nil) -> TaskPollHistory {
        var history = TaskPollHistory()
        for e in elapsed { history.recordPending(at: .fromSeconds(e), progress: progress) }
        return history
    }

    static func near(_ a: Duration, _ seconds: Double, within tolerance: Double = 0.02) -> Bool {
        abs(a.inSeconds - seconds) <= tolerance * seconds
    }

    // MARK: Cold start

    @Test("cold start: until N tasks were seen the polls follow today's backoff, then the fit places them")
    func coldStart() {
        let settings = Self.settings()
        let cold = Self.trained(settings, count: 19).planner(for: Self.key)
        #expect(!cold.isWarm)
        let first = cold.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil)
        #expect(first == PollDecision(delay: .seconds(1), basis: .coldStart))
        let third = cold.nextPoll(elapsed: .milliseconds(2500), history: Self.pending([1, 2.5]), progress: nil)
        #expect(third == PollDecision(delay: PollBackoff().delay(afterPolls: 2, progress: nil, elapsed: .milliseconds(2500)), basis: .coldStart))

        let warm = Self.trained(settings, count: 20).planner(for: Self.key)
        #expect(warm.isWarm)
        #expect(warm.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil).basis == .durationModel)
    }

    @Test("disabled: always the cold-start backoff, however many tasks were seen")
    func disabled() {
        let planner = Self.trained(Self.settings { $0.enabled = false }).planner(for: Self.key)
        #expect(!planner.isWarm)
        #expect(planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil).delay == .seconds(1))
    }

    // MARK: Placement

    @Test("the first poll goes where the task is done with the done probability (median 8 s, sigma 0.6: 8.63 s at 0.55)")
    func firstPoll() {
        let planner = Self.trained(Self.settings()).planner(for: Self.key)
        let fit = try! #require(planner.durations)
        #expect(abs(fit.meanLog - log(8)) < 0.01)
        #expect(abs(fit.sigma - 0.6) < 0.03)
        let first = planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil)
        #expect(first.basis == .durationModel)
        #expect(Self.near(first.delay, 8 * exp(0.6 * StandardNormal.quantile(0.55))))
        #expect(abs(fit.probabilityDone(by: first.delay) - 0.55) < 0.02)
    }

    @Test("after a pending poll, the next one is placed by the distribution given the task was not done yet")
    func conditioning() {
        let planner = Self.trained(
            Self.settings {
                $0.maxLagFraction = 10
                $0.maxLag = .seconds(600)
            }
        ).planner(for: Self.key)
        let fit = try! #require(planner.durations)
        let age = 8 * exp(0.6 * StandardNormal.quantile(0.55))
        let next = planner.nextPoll(elapsed: .fromSeconds(age), history: Self.pending([age]), progress: nil)
        #expect(next.basis == .durationModel)
        // P(done by then | pending at `age`) = 0.55: F reaches 0.55 + 0.45 x 0.55.
        let doneThen = fit.probabilityDone(by: .fromSeconds(age) + next.delay)
        #expect(abs((doneThen - 0.55) / 0.45 - 0.55) < 0.01)
        // A task that outlived the expectation is given more time, not the same gap.
        let late = planner.nextPoll(elapsed: .seconds(30), history: Self.pending([age, 20, 30]), progress: nil)
        #expect(late.delay > next.delay)
    }

    @Test("the lag bound caps each gap at a share of the task's age and at an absolute limit")
    func lagBound() {
        let tight = Self.trained(Self.settings { $0.maxLagFraction = 0.1 }).planner(for: Self.key)
        let next = tight.nextPoll(elapsed: .seconds(10), history: Self.pending([10]), progress: nil)
        #expect(next == PollDecision(delay: .seconds(1), basis: .lagBound))

        let capped = Self.trained(Self.settings { $0.maxLag = .seconds(3) }).planner(for: Self.key)
        #expect(capped.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil) == PollDecision(delay: .seconds(3), basis: .lagBound))
        #expect(capped.nextPoll(elapsed: .seconds(60), history: Self.pending([57, 60]), progress: nil).delay == .seconds(3))
    }

    // MARK: Progress shapes

    @Test("linear progress proves predictive: the poll goes just after the end it predicts")
    func linearProgress() {
        let planner = Self.trained(Self.settings(), shape: .linear).planner(for: Self.key)
        #expect(planner.progressIsPredictive)
        // 80 % after 8 s: done at 10 s; polled 1 % after.
        let next = planner.nextPoll(elapsed: .seconds(8), history: Self.pending([8], progress: 80), progress: 80)
        #expect(next.basis == .progress)
        #expect(Self.near(next.delay, 10.1 - 8, within: 0.001))
        // 40 % after 8 s: done at 20 s, a gap past the share bound (4 s) but within 15 s.
        let long = planner.nextPoll(elapsed: .seconds(8), history: Self.pending([8], progress: 40), progress: 40)
        #expect(long.basis == .progress)
        #expect(Self.near(long.delay, 20.2 - 8, within: 0.001))
        // 10 % after 8 s: done at 80 s, beyond the absolute bound.
        let far = planner.nextPoll(elapsed: .seconds(8), history: Self.pending([8], progress: 10), progress: 10)
        #expect(far == PollDecision(delay: .seconds(15), basis: .lagBound))
    }

    @Test("step-wise progress is off by up to a step: not trusted, the duration fit places the poll")
    func stepProgress() {
        let planner = Self.trained(Self.settings(), shape: .steps).planner(for: Self.key)
        #expect(!planner.progressIsPredictive)
        let withProgress = planner.nextPoll(elapsed: .seconds(6), history: Self.pending([6], progress: 50), progress: 50)
        let without = planner.nextPoll(elapsed: .seconds(6), history: Self.pending([6]), progress: nil)
        #expect(withProgress == without)
        #expect(withProgress.basis != .progress)
    }

    @Test("progress that stays 0 until done predicts nothing: not trusted")
    func zeroProgress() {
        let model = Self.trained(Self.settings(), shape: .zero)
        #expect(!model.planner(for: Self.key).progressIsPredictive)
        // Tasks that did report linear progress later do not make 40 silent ones trusted at once.
        for _ in 0..<5 { model.record(Self.timing(8, shape: .linear)) }
        #expect(!model.planner(for: Self.key).progressIsPredictive)
    }

    @Test("tasks found done at their first poll showed no progress: they neither earn nor cost trust")
    func doneAtFirstPoll() {
        let model = Self.trained(Self.settings(), shape: .linear)
        for _ in 0..<100 {
            model.record(CompletedTaskTiming(key: Self.key, notDoneAt: .zero, doneAt: .seconds(9), providerDuration: nil, lastProgress: nil))
        }
        #expect(model.planner(for: Self.key).progressIsPredictive)
    }

    // MARK: Retry-After

    @Test("a Retry-After on the poll reply postpones the poll; a shorter one changes nothing")
    func retryAfter() {
        let planner = Self.trained(Self.settings()).planner(for: Self.key)
        let plain = planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil)
        let postponed = planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil, retryAfter: .seconds(20))
        #expect(postponed == PollDecision(delay: .seconds(20), basis: .retryAfter))
        #expect(planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil, retryAfter: .seconds(1)) == plain)
        let cold = Self.trained(Self.settings(), count: 1).planner(for: Self.key)
        #expect(cold.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil, retryAfter: .seconds(5)).delay == .seconds(5))
    }

    // MARK: What is learned

    @Test("a task's duration is learned from the interval our polls and the provider's timestamps leave")
    func timingBounds() {
        let polls = CompletedTaskTiming(key: Self.key, notDoneAt: .seconds(6), doneAt: .seconds(12), providerDuration: nil, lastProgress: nil)
        #expect(polls.bounds == 6...12)
        #expect(Self.near(polls.estimate, (6.0 * 12).squareRoot(), within: 0.001))
        let narrowed = CompletedTaskTiming(
            key: Self.key, notDoneAt: .seconds(6), doneAt: .seconds(12), providerDuration: .seconds(8), lastProgress: nil)
        #expect(narrowed.bounds == 7...9)
        // Timestamps that contradict our own polls are clock trouble: ignored.
        let skewed = CompletedTaskTiming(
            key: Self.key, notDoneAt: .seconds(6), doneAt: .seconds(12), providerDuration: .seconds(30), lastProgress: nil)
        #expect(skewed.bounds == 6...12)
    }

    @Test("a size bucket with too few tasks plans from its format's fit; with enough, from its own")
    func sizeFallback() {
        let settings = Self.settings()
        let model = Self.trained(settings)
        let big = DurationKey(provider: "api.test", format: "txt", sizeBucket: 5)
        #expect(model.planner(for: big).isWarm)
        #expect(abs(model.planner(for: big).durations!.meanLog - log(8)) < 0.01)
        for _ in 0..<20 { model.record(Self.timing(40, shape: .zero, key: big)) }
        let own = try! #require(model.planner(for: big).durations)
        #expect(abs(exp(own.meanLog) - 40) < 0.5)
    }

    // MARK: In the job machine

    @Test("the job machine waits as the planner says and reports the timing of a task found done")
    func machineUsesPlanner() {
        var rules = JobMachineTests.rules
        let planner = Self.trained(Self.settings()).planner(for: Self.key)
        rules.pollPlanner = planner
        var m = JobMachineTests.machine(rules: rules)
        _ = m.start(at: JobMachineTests.at(0))
        let created = m.handle(.created(record: JobMachineTests.row(.submitted, taskID: "t1", attempts: 1), taskID: "t1"), at: JobMachineTests.at(0))
        let first = planner.nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil).delay
        #expect(created.effect == .wait(until: JobMachineTests.at(0).instant + first))
        _ = m.handle(.woke, at: JobMachineTests.at(9))
        let pending = m.handle(.polled(JobMachineTests.task(.processing)), at: JobMachineTests.at(9))
        let expected = planner.nextPoll(elapsed: .seconds(9), history: Self.pending([9]), progress: nil).delay
        #expect(pending.effect == .wait(until: JobMachineTests.at(9).instant + expected))
        _ = m.handle(.woke, at: JobMachineTests.at(12))
        let done = m.handle(.polled(JobMachineTests.task(.success, file: "https://r.test/t1")), at: JobMachineTests.at(12))
        let timing = done.notes.compactMap { note -> CompletedTaskTiming? in
            if case .taskTimed(let timing) = note { return timing }
            return nil
        }
        #expect(
            timing == [
                CompletedTaskTiming(key: Self.key, notDoneAt: .seconds(9), doneAt: .seconds(12), providerDuration: nil, lastProgress: nil, polls: 2)
            ])
        // Every wait the planner placed is noted with its rule, for the decisions metric.
        #expect(created.notes == [.pollPlanned(.durationModel)])
        #expect(pending.notes.count == 1)
    }

    @Test("a fresh task's whole-second created_at does not age its clock; a resumed task's still does")
    func createdAtRounding() {
        var fresh = JobMachineTests.polling()
        let before = fresh.taskStartedAt
        // created_at rounds down to a whole second: up to a second before our create's reply.
        _ = fresh.handle(.polled(JobMachineTests.task(.processing, createdAt: JobMachineTests.d0.addingTimeInterval(-1))), at: JobMachineTests.at(1))
        #expect(fresh.taskStartedAt == before)
        var resumed = JobMachineTests.polling()
        _ = resumed.handle(
            .polled(JobMachineTests.task(.processing, createdAt: JobMachineTests.d0.addingTimeInterval(-30))), at: JobMachineTests.at(1))
        #expect(resumed.taskStartedAt == JobMachineTests.at(-30).instant)
    }

    @Test("without a planner the machine keeps today's backoff and reports no timing")
    func machineWithoutPlanner() {
        var m = JobMachineTests.polling()
        let pending = m.handle(.polled(JobMachineTests.task(.processing)), at: JobMachineTests.at(1))
        #expect(pending.effect == .wait(until: JobMachineTests.at(1).instant + .milliseconds(1500)))
        _ = m.handle(.woke, at: JobMachineTests.at(3))
        let done = m.handle(.polled(JobMachineTests.task(.success, file: "https://r.test/t1")), at: JobMachineTests.at(3))
        #expect(!done.notes.contains { if case .taskTimed = $0 { true } else { false } })
    }

    // MARK: In the runner

    @Test("the runner feeds done tasks back: after the cold start a job's first poll waits as the learned durations say")
    func runnerLearns() async throws {
        let rig = try await JobRunnerTests.Rig(passThrough: true) {
            $0.pollPlanning = PollPlanSettings(provider: "api.test", coldStartTasks: 3, doneProbability: 0.55)
        }
        func job(_ n: Int) -> String { #"{"job_id":"job-\#(n)","source":{"url":"https://docs.test/a.pdf"}}"# }
        for n in 1...3 {
            // Cold start: polls 1 s, 2.5 s and 4.75 s after the create; done at the third.
            rig.provider.scriptQueries(
                "t\(n)",
                [
                    .success(.init(taskID: "t\(n)", state: .processing)), .success(.init(taskID: "t\(n)", state: .processing)),
                    .success(.init(taskID: "t\(n)", state: .success, file: "https://results.test/t\(n).txt")),
                ])
            try await rig.runner.handle(JobRunnerTests.message(job(n), offset: Int64(n)))
        }
        #expect(Array(rig.timer.waits.prefix(3)) == [.seconds(1), .milliseconds(1500), .milliseconds(2250)])
        let before = rig.timer.waits.count
        try await rig.runner.handle(JobRunnerTests.message(job(4), offset: 4))
        // Learned: each duration in (2.5 s, 4.75 s], 3.45 s by the geometric middle; the
        // first poll goes at its 0.55 quantile instead of at 1 s.
        let first = try #require(rig.timer.waits.dropFirst(before).first)
        #expect(Self.near(first, (2.5 * 4.75).squareRoot() * exp(0.05 * StandardNormal.quantile(0.55)), within: 0.005))
        #expect(rig.provider.queryCalls.filter { $0 == "t4" }.count == 1)
    }
}
