import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Worker

/// `/healthz` (the process can go on: 503 after a fatal producer or consumer error until
/// it exits, while the consumer's credentials are refused, or when its poll loop stopped;
/// `WorkerLiveness`), `/readyz` (provider key accepted and circuit closed,
/// ledger answers, member of the group, not shutting down) and `/metrics` (Prometheus
/// text) on a port of their own, so probes and scrapes never queue behind job traffic.
/// It stops after the worker, so liveness probes and scrapes still answer during a drain.
struct OperationsServer: Service {
    let host: String
    let port: Int
    let worker: WorkerService
    let metrics: PrometheusCollectorRegistry
    let logger: Logger

    func run() async throws {
        let router = Router()
        router.get("/healthz") { _, _ in
            if let reason = worker.livenessProblem {
                return Self.json(["status": "failing", "reason": reason], status: .serviceUnavailable)
            }
            return Self.json(["status": "ok"], status: .ok)
        }
        router.get("/readyz") { _, _ in
            let checks = await worker.readiness()
            let ready = checks.values.allSatisfy { $0 }
            var body: [String: Any] = ["ready": ready]
            for (k, v) in checks { body[k] = v }
            // Shown, not checked: a pod the provider asked to wait is working as it should.
            let provider = worker.providerStatus
            body["provider_state"] = provider.state.rawValue
            body["provider_paused_seconds"] = (provider.remainingSeconds * 10).rounded() / 10
            return Self.json(body, status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "ocr-worker"),
            onServerRunning: { channel in
                logger.info("operations endpoints listening", metadata: ["port": "\(channel.localAddress?.port ?? port)"])
            },
            logger: logger)
        // `run()`, not `runService()`: the latter starts a service group of its own that
        // catches SIGTERM too, so the server could stop by itself before the worker has
        // drained, and the outer group would then cancel the worker instead of shutting
        // it down gracefully. One group, in RunCommand, owns the signals.
        try await app.run()
    }

    private static func json(_ object: [String: Any], status: HTTPResponse.Status) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

enum MetricsExport {
    /// Makes swift-metrics record into a Prometheus registry served on /metrics.
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
