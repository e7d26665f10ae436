import Metrics
import OCRTaskAPI

/// Every HTTP request the client sends, as metrics (swift-metrics; the worker exports
/// them on `/metrics`): `ocr_provider_requests_total{endpoint, status}` and
/// `ocr_provider_request_duration_seconds{endpoint}`.
///
/// Counted per request on the wire (each retry, each redirect hop), not per call: that
/// is what the provider's quota and the request budget see. `status` is the HTTP status,
/// or `transport` when no reply came (refused, reset, timed out).
enum ProviderRequestMetrics {
    static func record(_ endpoint: TaskEndpoint, status: Int?, duration: Duration) {
        Counter(
            label: "ocr_provider_requests_total",
            dimensions: [
                ("endpoint", endpoint.rawValue), ("status", status.map(String.init) ?? "transport"),
            ]
        ).increment()
        Timer(label: "ocr_provider_request_duration_seconds", dimensions: [("endpoint", endpoint.rawValue)], preferredDisplayUnit: .seconds)
            .record(duration)
    }
}
