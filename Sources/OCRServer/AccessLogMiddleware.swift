import Hummingbird
import Logging

/// One log line per request: method, path (never the query, which may hold a signature),
/// status and duration.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                    "status": "\(response.status.code)", "seconds": "\(ServerCore.seconds(since: start))",
                ])
            return response
        } catch {
            logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                    "status": "\((error as? any HTTPResponseError)?.status.code ?? 500)",
                    "seconds": "\(ServerCore.seconds(since: start))",
                ])
            throw error
        }
    }
}
