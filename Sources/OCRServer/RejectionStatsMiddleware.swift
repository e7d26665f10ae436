import Hummingbird

/// Counts refused requests by status for `/stats` (`rejected_by_status`) and `/metrics`
/// (`ocr_server_rejections_total`).
struct RejectionStatsMiddleware<Context: RequestContext>: RouterMiddleware {
    let stats: ServerStats
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PicWishError {
            stats.rejected(error.status.code)
            metrics.rejected(status: error.status.code)
            throw error
        }
    }
}
