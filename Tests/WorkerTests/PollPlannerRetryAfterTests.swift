import Foundation
import JobCore
import Kafka
import Ledger
import OCRClient
import OCRTaskAPI
import Synchronization
import Testing

@testable import PollPlanning
@testable import Worker

/// A `Retry-After` on a successful poll reply reaches the planner: through the job
/// machine's `polled` event, and from the provider port through the runner. Test clock
/// only: the runner's waits are recorded, nothing sleeps.
@Suite("Poll planner: Retry-After on a poll reply")
struct PollPlannerRetryAfterTests {
    @Test("the machine postpones the next poll to a Retry-After longer than the plan, and notes the rule")
    func machineHonoursRetryAfter() {
        var rules = JobMachineTests.rules
        rules.pollPlanner = PollPlannerTests.trained(PollPlannerTests.settings()).planner(for: PollPlannerTests.key)
        var m = JobMachineTests.polling(rules: rules)
        let step = m.handle(.polled(JobMachineTests.task(.processing), retryAfter: .seconds(40)), at: JobMachineTests.at(1))
        #expect(step.effect == .wait(until: JobMachineTests.at(41).instant))
        #expect(step.notes == [.pollPlanned(.retryAfter)])
        // A short one changes nothing.
        var n = JobMachineTests.polling(rules: rules)
        let plain = n.handle(.polled(JobMachineTests.task(.processing)), at: JobMachineTests.at(1))
        var o = JobMachineTests.polling(rules: rules)
        #expect(o.handle(.polled(JobMachineTests.task(.processing), retryAfter: .milliseconds(10)), at: JobMachineTests.at(1)).effect == plain.effect)
    }

    @Test("without the planner a Retry-After still postpones the backoff's poll")
    func machineWithoutPlanner() {
        var m = JobMachineTests.polling()
        let step = m.handle(.polled(JobMachineTests.task(.processing), retryAfter: .seconds(7)), at: JobMachineTests.at(1))
        #expect(step.effect == .wait(until: JobMachineTests.at(8).instant))
    }

    /// ScriptedProvider plus a `Retry-After` on every successful reply of `pending` tasks.
    final class AdvisingProvider: ProviderClient {
        let inner = ScriptedProvider()
        let advice: Duration
        init(advice: Duration) { self.advice = advice }

        func createTask(source: DocumentSource, options: TaskOptions, sourcePolicy: SourcePolicy?) async throws(OCRClientError) -> CreateTaskResult {
            try await inner.createTask(source: source, options: options, sourcePolicy: sourcePolicy)
        }
        func fetchSource(_ source: DocumentSource, sourcePolicy: SourcePolicy?, into directory: String) async throws(OCRClientError)
            -> FetchedSource?
        {
            try await inner.fetchSource(source, sourcePolicy: sourcePolicy, into: directory)
        }
        func queryTask(_ taskID: String) async throws(OCRClientError) -> TaskRecord { try await inner.queryTask(taskID) }
        func queryTaskReply(_ taskID: String) async throws(OCRClientError) -> QueriedTask {
            let record = try await inner.queryTask(taskID)
            return QueriedTask(record: record, retryAfter: record.state.isPending ? advice : nil)
        }
        func downloadResult(from fileURL: String, into sink: some ResultSink) async throws(OCRClientError) -> DownloadedResult {
            try await inner.downloadResult(from: fileURL, into: sink)
        }
    }

    @Test("the runner passes the reply's Retry-After to the planner: the poll after a pending reply waits for it")
    func runnerPassesRetryAfter() async throws {
        let provider = AdvisingProvider(advice: .seconds(42))
        provider.inner.scriptQueries(
            "t1",
            [
                .success(.init(taskID: "t1", state: .processing)),
                .success(.init(taskID: "t1", state: .success, file: "https://results.test/t1.txt")),
            ])
        let ledger = try await FlakyLedger.inMemory()
        var settings = JobSettings(workerID: "w1", workerVersion: "test", passThrough: true, dependencyRetryDelay: .milliseconds(1))
        settings.pollPlanning = PollPlanSettings(provider: "api.test", coldStartTasks: 3)
        let timer = TestTimer()
        let runner = JobRunner(
            settings: settings,
            ports: .init(provider: provider, ledger: ledger, store: nil, publisher: RecordingPublisher(), timer: timer, gate: RecordingGate()),
            logger: .init(label: "test"))
        try await runner.handle(JobRunnerTests.message(#"{"job_id":"job-1","source":{"url":"https://docs.test/a.pdf"}}"#, offset: 1))
        // Cold start: 1 s to the first poll; the pending reply's 42 s instead of the backoff's 1.5 s.
        #expect(Array(timer.waits.prefix(2)) == [.seconds(1), .seconds(42)])
        #expect(provider.inner.queryCalls == ["t1", "t1"])
    }
}
