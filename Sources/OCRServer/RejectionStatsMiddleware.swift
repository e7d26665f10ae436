import Hummingbird

/// Counts refused requests by status for `/stats` (`rejected_by_status`).
struct RejectionStatsMiddleware<Context: RequestContext>: RouterMiddleware {
    let stats: ServerStats

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PicWishError {
            stats.rejected(error.status.code)
            throw error
        }
    }
}
