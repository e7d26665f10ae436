import Hummingbird
import OCRTaskAPI

/// Every refusal of the API, as one error type that renders itself: PicWish's envelope
/// `{"status": <code>, "message": "..."}` with the same HTTP status, plus headers such as
/// `Retry-After` or `Connection: close`. Controllers throw it; Hummingbird renders it, and
/// ``RejectionStatsMiddleware`` counts it for `/stats`.
struct PicWishError: HTTPResponseError {
    let status: HTTPResponse.Status
    /// Shown to the caller: never a key, a password or a link's signature.
    let message: String
    let headers: HTTPFields

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONReply.response(
            APIReply<CreatedTask>.failure(status: status.code, message: message), status: status, headers: headers)
    }
}
