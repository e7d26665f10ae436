public import Hummingbird
public import Logging
public import NIOCore
public import ServiceLifecycle

/// ocr-server: the PicWish document OCR task API on Tesseract (docs/architecture.md, "The OCR task API").
///
/// Routes:
/// - `POST /api/tasks/document/ocr`: create a task (multipart form, `X-API-KEY`).
/// - `GET /api/tasks/document/ocr/{task_id}`: query it (`X-API-KEY`).
/// - `GET /results/{name}?expires=...&signature=...`: the result file (signed link, no key).
/// - `GET /healthz`: liveness; `GET /readyz`: readiness (503 while draining);
///   `GET /stats`: counters (JSON); `GET /metrics`: Prometheus text.
public enum OCRServer {
    /// Builds the server; run it in a `ServiceGroup` (SIGTERM there starts the drain), or
    /// test it with HummingbirdTesting (`.router` runs the processing without a socket).
    public static func makeApplication(
        configuration: ServerConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> OCRServerApplication {
        let core = try await ServerCore(configuration: configuration, logger: logger)
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: AccessLogMiddleware(logger: logger))
        router.add(middleware: RejectionStatsMiddleware(stats: core.stats, metrics: core.metrics))
        HealthController(core: core).addRoutes(to: router)
        TasksController(core: core).addRoutes(to: router)
        ResultsController(core: core).addRoutes(to: router)
        return OCRServerApplication(
            responder: router.buildResponder(), core: core,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ocr-server"),
            logger: logger, running: onServerRunning)
    }
}

/// ocr-server as a Hummingbird application whose services are the ``ProcessingService``
/// and, with a shared store, the closing of its connections.
///
/// ``run()`` orders them so the drain works: a service group shuts its services down last
/// first, so on SIGTERM processing drains first while the HTTP server still answers
/// (creates get 503, `/readyz` 503, queries and result downloads work); the HTTP server
/// closes only once the drain is over, and a shared store's connections after both.
public struct OCRServerApplication: ApplicationProtocol {
    public let responder: RouterResponder<ServerRequestContext>
    let core: ServerCore
    public let configuration: ApplicationConfiguration
    public let logger: Logger
    let running: @Sendable (Int) async -> Void

    public func onServerRunning(_ channel: any Channel) async {
        await running(channel.localAddress?.port ?? core.configuration.port)
    }

    public var services: [any Service] { [SharedStoreCloser(core: core), ProcessingService(core: core)] }

    public func run() async throws {
        let http = Application(
            responder: responder, configuration: configuration, onServerRunning: onServerRunning, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [SharedStoreCloser(core: core), http, ProcessingService(core: core)], logger: logger))
        try await group.run()
    }
}

/// Closes a shared store's connections once every service after it in the group has
/// stopped (a group shuts its services down last first).
struct SharedStoreCloser: Service {
    let core: ServerCore

    func run() async throws {
        try? await gracefulShutdown()
        await core.shared?.close()
    }
}
