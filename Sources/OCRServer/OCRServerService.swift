import Logging
import ServiceLifecycle

/// ocr-server as one service: the HTTP application and the ``ProcessingService``, in a
/// service group of their own whose order makes the drain work. A group shuts its
/// services down last first, so on SIGTERM processing drains first while the HTTP server
/// still answers (creates get 503, `/readyz` 503, queries and result downloads work);
/// the HTTP server closes only once the drain is over. A shared task store's connections
/// close after both.
struct OCRServerService<HTTPApplication: Service>: Service {
    let application: HTTPApplication
    let processing: ProcessingService
    let logger: Logger

    func run() async throws {
        let group = ServiceGroup(configuration: .init(services: [application, processing], logger: logger))
        do {
            try await group.run()
        } catch {
            await processing.core.shared?.close()
            throw error
        }
        await processing.core.shared?.close()
    }
}
