import Hummingbird
public import Logging
public import ServiceLifecycle

/// ocr-server: the PicWish document OCR task API on Tesseract (docs/architecture.md, "The OCR task API").
///
/// Routes:
/// - `POST /api/tasks/document/ocr`: create a task (multipart form, `X-API-KEY`).
/// - `GET /api/tasks/document/ocr/{task_id}`: query it (`X-API-KEY`).
/// - `GET /results/{name}?expires=...&signature=...`: the result file (signed link, no key).
/// - `GET /healthz`: liveness; `GET /readyz`: readiness (503 while draining);
///   `GET /stats`: counters (JSON).
public enum OCRServer {
    /// Builds the server; run it in a `ServiceGroup` (SIGTERM there starts the drain).
    public static func makeApplication(
        configuration: ServerConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some Service {
        let core = try await ServerCore(configuration: configuration, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessLogMiddleware(logger: logger))
        router.add(middleware: RejectionStatsMiddleware(stats: core.stats))
        HealthController(core: core).addRoutes(to: router)
        TasksController(core: core).addRoutes(to: router)
        ResultsController(core: core).addRoutes(to: router)
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ocr-server"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
        return OCRServerService(application: application, processing: ProcessingService(core: core), logger: logger)
    }
}
