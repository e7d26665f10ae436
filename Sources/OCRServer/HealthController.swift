import Hummingbird
import NIOCore

/// Liveness, readiness and counters, without a key: `GET /healthz` (liveness, 200 while
/// the process runs, with whether office inputs can be converted and whether it drains),
/// `GET /readyz` (readiness: 503 once SIGTERM started the drain, so a load balancer stops
/// sending new tasks), `GET /stats` (JSON counters) and `GET /metrics` (the same and more
/// in Prometheus' text format: ``ServerMetrics``). None of them shows a key, a task's
/// source or a link.
struct HealthController: Sendable {
    let core: ServerCore

    func addRoutes(to router: Router<ServerRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONReply.response(
                [
                    "status": "ok", "office_inputs": core.officeInputs.description,
                    "draining": core.draining.load(ordering: .relaxed) ? "true" : "false",
                ], status: .ok)
        }
        router.get("/readyz") { _, _ in
            core.draining.load(ordering: .relaxed)
                ? JSONReply.response(["status": "draining"], status: .serviceUnavailable)
                : JSONReply.response(["status": "ready"], status: .ok)
        }
        router.get("/stats") { _, _ in
            await JSONReply.response(core.statsSnapshot(), status: .ok)
        }
        router.get("/metrics") { _, _ in
            let text = core.metrics.exposition(await core.statsSnapshot())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }
}
