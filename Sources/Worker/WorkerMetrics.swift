import Foundation
import JobContract
import Metrics
import OCRClient
import PollPlanning

/// The worker's metrics (swift-metrics; exported by the Prometheus backend on /metrics).
public struct WorkerMetrics: Sendable {
    public enum Outcome: String, Sendable {
        case succeeded, failed, rejected
    }

    public init() {}

    func finished(_ outcome: Outcome, errorClass: ErrorClass?, enqueuedAt: Date?) {
        Counter(label: "ocr_jobs_total", dimensions: [("outcome", outcome.rawValue), ("error_class", errorClass?.rawValue ?? "none")]).increment()
        // The record's timestamp is outside data: one that makes no sense as a latency
        // (in the future, NaN, or beyond what nanoseconds hold) is left out.
        if let enqueuedAt, let nanoseconds = Self.nanoseconds(Date().timeIntervalSince(enqueuedAt)) {
            Timer(label: "ocr_job_end_to_end_seconds", dimensions: [("outcome", outcome.rawValue)], preferredDisplayUnit: .seconds)
                .recordNanoseconds(nanoseconds)
        }
    }

    /// A non-negative interval in whole nanoseconds, or nil when it does not fit.
    static func nanoseconds(_ seconds: TimeInterval) -> Int64? {
        let value = (seconds * 1e9).rounded()
        guard value.isFinite, value >= 0, value < 9.2e18 else { return nil }
        return Int64(exactly: value)
    }

    func republished() { Counter(label: "ocr_results_republished_total").increment() }
    func redelivered() { Counter(label: "ocr_jobs_redelivered_total").increment() }
    func deadLettered(_ errorClass: ErrorClass) {
        Counter(label: "ocr_dead_letters_total", dimensions: [("error_class", errorClass.rawValue)]).increment()
    }
    // Provider requests by endpoint and status, with their latency, are recorded by the
    // OCR client itself (ocr_provider_requests_total, ocr_provider_request_duration_seconds).

    /// From a task's create to its final state, by how it ended (`done`, or the state).
    func taskEnded(after duration: Duration, state: String) {
        Timer(label: "ocr_task_duration_seconds", dimensions: [("state", state)], preferredDisplayUnit: .seconds)
            .record(duration)
    }
    func recreate() { Counter(label: "ocr_task_recreates_total").increment() }

    /// A poll placed by the poll planner, by the rule that placed it (`cold_start`,
    /// `duration_model`, `progress`, `progress_bound`, `lag_bound`, `retry_after`).
    func pollPlanned(_ basis: String) {
        Counter(label: "ocr_poll_plan_decisions_total", dimensions: [("basis", basis)]).increment()
    }
    /// Polls a task found done took, the one that found it included.
    func taskPolled(polls: Int) {
        Recorder(label: "ocr_poll_plan_polls_per_task", aggregate: true).record(polls)
    }
    /// Keys the duration model learned, past their cold start, and placing polls by the mixture.
    func pollPlanModels(_ summary: DurationModel.Summary) {
        Gauge(label: "ocr_poll_plan_models", dimensions: [("state", "learning")]).record(summary.keys - summary.warm)
        Gauge(label: "ocr_poll_plan_models", dimensions: [("state", "warm")]).record(summary.warm)
        Gauge(label: "ocr_poll_plan_models", dimensions: [("state", "mixture")]).record(summary.mixtures)
    }
    /// A `creating` claim abandoned by a crash was taken over: the provider may hold a
    /// second task for the job (the one duplicate window docs/architecture.md names).
    func createClaimTakenOver() { Counter(label: "ocr_create_claims_taken_over_total").increment() }
    /// A task this pod created whose id the ledger refused: the claim was taken over
    /// while the pod could not reach the ledger, and another driver's task stands.
    func taskOrphaned() { Counter(label: "ocr_tasks_orphaned_total").increment() }
    /// A driver found another driver's live create claim and waited for its task id.
    func createClaimAwaited() { Counter(label: "ocr_create_claims_awaited_total").increment() }
    func rehosted(bytes: Int64) { Counter(label: "ocr_rehosted_bytes_total").increment(by: Int(bytes)) }

    /// Gauges the consumer loop refreshes: jobs in flight, consumer lag, and the
    /// autoscaling signal (backlog + in flight, ``outstandingJobs(consumerLag:inFlight:)``).
    public func consumption(inFlight: Int, consumerLag: Int64?) {
        Gauge(label: "ocr_jobs_in_flight").record(inFlight)
        if let consumerLag {
            Gauge(label: "ocr_consumer_lag").record(consumerLag)
            Gauge(label: "ocr_outstanding_jobs").record(Self.outstandingJobs(consumerLag: consumerLag, inFlight: inFlight))
        }
    }

    /// The jobs waiting or in flight on this pod's partitions. librdkafka's `consumer_lag`
    /// is measured from the committed offset, and this worker commits only past finished
    /// jobs, so the lag already counts every job in flight: adding them again counted
    /// them twice. The statistics are a few seconds old, so the in-flight count (now) is
    /// the floor.
    static func outstandingJobs(consumerLag: Int64, inFlight: Int) -> Int64 {
        max(consumerLag, Int64(inFlight))
    }

    /// Age of the oldest job in flight, the jobs older than the stall limit, and the
    /// records taken but not yet covered by a commit.
    public func stalls(oldestJobAge: Duration?, stalled: Int, commitLag: Int64) {
        Gauge(label: "ocr_commit_lag").record(commitLag)
        Gauge(label: "ocr_oldest_job_age_seconds").record(oldestJobAge.map { Double($0.components.seconds) } ?? 0)
        Gauge(label: "ocr_jobs_stalled").record(stalled)
    }

    public func providerHealthy(_ healthy: Bool) { Gauge(label: "ocr_provider_healthy").record(healthy ? 1 : 0) }

    /// `ocr_provider_paused{reason}`: 1 for the reason the pod sends nothing now (0 for
    /// the others), and `ocr_provider_paused_seconds`: how much longer.
    func provider(_ status: ProviderStatus) {
        for state in ProviderStatus.State.allCases where state != .available {
            Gauge(label: "ocr_provider_paused", dimensions: [("reason", state.rawValue)]).record(status.state == state ? 1 : 0)
        }
        Gauge(label: "ocr_provider_paused_seconds").record(status.remainingSeconds)
    }
}
