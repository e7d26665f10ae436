import Hummingbird

/// Liveness, readiness and counters, without a key: `GET /healthz` (liveness, 200 while
/// the process runs, with whether office inputs can be converted and whether it drains),
/// `GET /readyz` (readiness: 503 once SIGTERM started the drain, so a load balancer stops
/// sending new tasks) and `GET /stats` (JSON counters).
struct HealthController: Sendable {
    let core: ServerCore

    func addRoutes(to router: Router<BasicRequestContext>) {
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
    }
}
