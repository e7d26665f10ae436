import Metrics
import OCRTaskAPI
import Prometheus

/// ocr-server's metrics (swift-metrics into a Prometheus registry of its own, served on
/// `/metrics`). Counters move as things happen; the gauges are set from
/// ``ServerCore/statsSnapshot()`` when `/metrics` is scraped. With a shared store the task
/// gauges (`ocr_server_tasks`, `ocr_server_oldest_queued_task_age_seconds`) are the
/// store's, the same on every replica: aggregate them with `max`, not `sum`.
///
/// - `ocr_server_tasks_created_total`
/// - `ocr_server_tasks_ended_total{outcome="succeeded|failed", state="success|invalid_file|..."}`
/// - `ocr_server_task_attempts_exhausted_total`: tasks failed because the server stopped
///   under them too often (``ServerCore/startAttempt(_:)``)
/// - `ocr_server_pages_total`: pages of succeeded tasks
/// - `ocr_server_rejections_total{status}`: refused requests by HTTP status
/// - `ocr_server_tasks{state="queued|running"}`, `ocr_server_oldest_queued_task_age_seconds`
/// - `ocr_server_engines`, `ocr_server_engines_busy`, `ocr_server_downloads_in_progress`,
///   `ocr_server_downloads_waiting`, `ocr_server_uploads_in_progress`, `ocr_server_draining`
///   (1 while draining)
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    init() { factory = PrometheusMetricsFactory(registry: registry) }

    func taskCreated() { Counter(label: "ocr_server_tasks_created_total", factory: factory).increment() }

    /// A task ended in `state`; `pages` it recognised when it succeeded.
    func taskEnded(_ state: TaskState, pages: Int = 0) {
        let outcome = state == .success ? "succeeded" : "failed"
        Counter(label: "ocr_server_tasks_ended_total", dimensions: [("outcome", outcome), ("state", state.name)], factory: factory)
            .increment()
        if pages > 0 { Counter(label: "ocr_server_pages_total", factory: factory).increment(by: pages) }
    }

    func attemptsExhausted() { Counter(label: "ocr_server_task_attempts_exhausted_total", factory: factory).increment() }

    func rejected(status: Int) {
        Counter(label: "ocr_server_rejections_total", dimensions: [("status", String(status))], factory: factory).increment()
    }

    /// The Prometheus text of every metric, the gauges set from `snapshot` first.
    func exposition(_ snapshot: ServerStats.Snapshot) -> [UInt8] {
        Gauge(label: "ocr_server_tasks", dimensions: [("state", "queued")], factory: factory).record(snapshot.tasksQueued)
        Gauge(label: "ocr_server_tasks", dimensions: [("state", "running")], factory: factory).record(snapshot.tasksRunning)
        Gauge(label: "ocr_server_oldest_queued_task_age_seconds", factory: factory).record(snapshot.oldestQueuedSeconds)
        Gauge(label: "ocr_server_engines", factory: factory).record(snapshot.workers)
        Gauge(label: "ocr_server_engines_busy", factory: factory).record(snapshot.enginesBusy)
        Gauge(label: "ocr_server_downloads_in_progress", factory: factory).record(snapshot.downloadsInProgress)
        Gauge(label: "ocr_server_downloads_waiting", factory: factory).record(snapshot.downloadsWaiting)
        Gauge(label: "ocr_server_uploads_in_progress", factory: factory).record(snapshot.uploadsInProgress)
        Gauge(label: "ocr_server_draining", factory: factory).record(snapshot.draining ? 1 : 0)
        return registry.emitToBuffer()
    }
}
