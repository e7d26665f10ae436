import Foundation
import Hummingbird
import NIOCore
import NetworkAddress
import OCRTaskAPI

/// Where result links point: the configured public URL (`OCR_SERVER_PUBLIC_URL`) when
/// there is one; else the host the client asked for (`Host`), with `https` when a trusted
/// proxy (``TrustedProxies``) says the client came over TLS and `http` otherwise.
///
/// The scheme is the proxy's word: the first `proto=` of `Forwarded` (RFC 7239: the
/// element of the proxy the client reached), else the first value of `X-Forwarded-Proto`;
/// only `http` and `https` count.
enum ResultLinkBase {
    static func base(for request: Request, peer: SocketAddress?, configuration: ServerConfiguration) -> String {
        if let configured = configuration.publicBaseURL, !configured.isEmpty {
            return configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        }
        let peerAddress = peer?.ipAddress.flatMap { IPAddress($0) }
        let scheme =
            configuration.trustedProxies.trusts(peerAddress) ? forwardedScheme(request.headers) ?? "http" : "http"
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        if let authority = request.head.authority, !authority.isEmpty, authority.allSatisfy(allowed.contains) {
            return "\(scheme)://\(authority)"
        }
        return "\(scheme)://\(configuration.host):\(configuration.port)"
    }

    /// The scheme forwarded headers name, lower-cased; nil when they name none we use.
    static func forwardedScheme(_ headers: HTTPFields) -> String? {
        func first(_ name: String) -> String? { headers.first { $0.name.canonicalName == name }?.value }
        if let forwarded = first("forwarded") {
            // The first element (before a comma), then its `proto=` pair.
            let first = forwarded.split(separator: ",", maxSplits: 1).first ?? ""
            for pair in first.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[0].lowercased() == "proto" else { continue }
                let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
                return ["http", "https"].contains(value) ? value : nil
            }
        }
        if let proto = first("x-forwarded-proto") {
            let value = (proto.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            return ["http", "https"].contains(value) ? value : nil
        }
        return nil
    }
}
