import Hummingbird

/// Liveness and counters: `GET /healthz` (with whether office inputs can be converted) and
/// `GET /stats` (JSON counters), without a key.
struct HealthController: Sendable {
    let core: ServerCore

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in
            JSONReply.response(["status": "ok", "office_inputs": core.officeInputs.description], status: .ok)
        }
        router.get("/stats") { _, _ in
            await JSONReply.response(core.statsSnapshot(), status: .ok)
        }
    }
}
