import Foundation
import Testing

@testable import PollPlanning
@testable import Worker

/// The source's size in the duration key (issue 13 follow-up): a create that uploaded the
/// source tells its size, and the task's polls are planned and learned under the key with
/// that size bucket; a create by URL keeps the size-less key. Times come from the runner's
/// test timer: nothing sleeps.
@Suite("Poll planner: the source's size in the key")
struct PollPlannerSizeTests {
    static let plain = DurationKey(provider: "api.test", format: "txt")
    static let smallBytes: Int64 = 60_000
    static let bigBytes: Int64 = 10_000_000
    static var small: DurationKey { plain.sized(uploadedBytes: smallBytes) }
    static var big: DurationKey { plain.sized(uploadedBytes: bigBytes) }

    @Test("an upload's bytes give the key their size bucket; nothing uploaded gives the key without a size")
    func sizedKey() {
        #expect(Self.plain.sized(uploadedBytes: 0) == Self.plain)
        #expect(Self.plain.sized(uploadedBytes: -5) == Self.plain)
        #expect(Self.small.sizeBucket == 0)
        #expect(Self.big.sizeBucket == 7) // 8 MiB < 10 MB <= 16 MiB
        #expect(Self.big.sized(uploadedBytes: 0) == Self.plain)
        #expect(Self.plain.sized(uploadedBytes: .max).sizeBucket == 16)
    }

    /// A runner whose model learned 60 tasks of 2 s for small uploads and 20 of 12 s for big
    /// ones (so the size-less fit expects mostly short tasks).
    static func trainedRig() async throws -> JobRunnerTests.Rig {
        let rig = try await JobRunnerTests.Rig(passThrough: true) {
            $0.pollPlanning = PollPlanSettings(provider: "api.test", coldStartTasks: 3, doneProbability: 0.55)
        }
        for _ in 0..<20 {
            for _ in 0..<3 { rig.runner.durationModel.record(PollPlannerTests.timing(2, shape: .zero, key: Self.small)) }
            rig.runner.durationModel.record(PollPlannerTests.timing(12, shape: .zero, key: Self.big))
        }
        return rig
    }

    static func firstPoll(_ model: DurationModel, _ key: DurationKey) -> Duration {
        model.planner(for: key).nextPoll(elapsed: .zero, history: TaskPollHistory(), progress: nil).delay
    }

    static let job = #"{"job_id":"job-1","source":{"url":"https://docs.test/a.pdf"}}"#

    @Test("a job whose create uploaded a big source waits for its first poll as that size's tasks say, and is learned under that size")
    func uploadPlansBySize() async throws {
        let rig = try await Self.trainedRig()
        let model = rig.runner.durationModel
        let bySize = Self.firstPoll(model, Self.big)
        let withoutSize = Self.firstPoll(model, Self.plain)
        // The fits disagree by far: the test tells which one placed the poll.
        #expect(bySize > withoutSize * 2)
        rig.provider.scriptUploadedBytes(Self.bigBytes)
        try await rig.runner.handle(JobRunnerTests.message(Self.job))
        #expect(rig.timer.waits.first == bySize)
        // The task (done at its first poll) is learned under its size and the size-less key.
        #expect(model.planner(for: Self.big).durations?.count == 21)
        #expect(model.planner(for: Self.small).durations?.count == 60)
        #expect(model.planner(for: Self.plain).durations?.count == 81)
    }

    @Test("a job whose create passed the URL plans by the size-less key")
    func urlPlansWithoutSize() async throws {
        let rig = try await Self.trainedRig()
        let model = rig.runner.durationModel
        let withoutSize = Self.firstPoll(model, Self.plain)
        try await rig.runner.handle(JobRunnerTests.message(Self.job))
        #expect(rig.timer.waits.first == withoutSize)
        #expect(model.planner(for: Self.big).durations?.count == 20)
        #expect(model.planner(for: Self.plain).durations?.count == 81)
    }

    @Test("a size bucket still in its cold start plans from the size-less fit, not today's backoff")
    func rareSizeFallsBack() async throws {
        let rig = try await Self.trainedRig()
        let model = rig.runner.durationModel
        let rare = Self.plain.sized(uploadedBytes: 1_000_000_000)
        #expect(rare.sizeBucket == 13)
        let withoutSize = Self.firstPoll(model, Self.plain)
        rig.provider.scriptUploadedBytes(1_000_000_000)
        try await rig.runner.handle(JobRunnerTests.message(Self.job))
        #expect(rig.timer.waits.first == withoutSize)
        #expect(withoutSize != PollBackoff().first)
        // Learned under its own bucket all the same: one task towards its cold start.
        #expect(model.summary.keys == 4)
    }
}
