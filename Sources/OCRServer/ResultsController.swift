import Foundation
import Hummingbird
import OCRTaskAPI

/// The result resource: `GET /results/{name}?expires=...&signature=...`, a signed link
/// (no key). Refusals are thrown as ``PicWishError``.
struct ResultsController: Sendable {
    let core: ServerCore

    func addRoutes(to router: Router<ServerRequestContext>) {
        router.get("/results/:name") { request, context in
            try await result(request, context: context)
        }
    }

    // MARK: Results

    func result(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard let name = context.parameters.get("name"), !name.hasPrefix("."), name.allSatisfy(allowed.contains),
            let format = name.split(separator: ".").last.flatMap({ OutputFormat(rawValue: String($0)) })
        else {
            throw PicWishError(.notFound, "result not found")
        }
        let query = request.uri.queryParameters
        switch core.signer.verify(name: name, expires: query.get("expires"), signature: query.get("signature")) {
        case .forged: throw PicWishError(.forbidden, "invalid result link signature")
        case .expired: throw PicWishError(.forbidden, "result link expired")
        case .valid: break
        }
        let path = core.resultsDirectory.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else { throw PicWishError(.notFound, "result not found") }
        core.stats.record { $0.resultDownloads += 1 }
        let body = try await core.fileIO.loadFile(path: path, context: context)
        return Response(
            status: .ok,
            headers: [
                .contentType: format.contentType, .contentDisposition: "attachment; filename=\"\(name)\"",
                .cacheControl: "private, max-age=3600",
            ],
            body: body)
    }
}
