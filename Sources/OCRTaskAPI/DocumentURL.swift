public import Foundation
public import NetworkAddress

/// A document URL that passed the contract's checks: absolute, `http` or `https`, with a
/// host. The rules for the `image_url` field itself (port 80/443, reachable host) are
/// separate, in ``imageURLViolation(allowingNonPublicHosts:)``, because a job may name a
/// URL that the provider cannot fetch but the client can (it then uploads the bytes).
public struct DocumentURL: Sendable, Hashable, CustomStringConvertible {
    public let url: URL
    public let scheme: String
    public let host: String
    /// The explicit port, or the scheme's default (80 or 443).
    public let port: Int

    /// Validates a URL string. Errors name `field` and show the URL only redacted.
    public init(_ text: String, field: String = TaskAPI.Field.imageURL) throws(TaskRequestError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let components = URLComponents(string: trimmed), let url = components.url else {
            throw TaskRequestError(code: .invalidURL, field: field, reason: "is not a valid URL")
        }
        let scheme = components.scheme?.lowercased() ?? ""
        guard scheme == "http" || scheme == "https" else {
            throw TaskRequestError(
                code: .unsupportedScheme, field: field,
                reason: scheme.isEmpty
                    ? "has no scheme; http or https required"
                    : "scheme \(scheme) is not allowed; http or https required")
        }
        guard let host = components.host, !host.isEmpty else {
            throw TaskRequestError(code: .invalidURL, field: field, reason: "has no host")
        }
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
    }

    /// Where the host lives (loopback, private, ...).
    public var hostScope: HostScope { HostScope.classify(host: host) }

    /// Why this URL cannot be passed as `image_url`, or `nil` if it can: the provider only
    /// fetches port 80 or 443, and (unless allowed, e.g. an on-premises ocr-server) only
    /// public hosts.
    public func imageURLViolation(allowingNonPublicHosts: Bool = false) -> TaskRequestError? {
        guard port == 80 || port == 443 else {
            return TaskRequestError(
                code: .unsupportedPort, field: TaskAPI.Field.imageURL,
                reason: "port \(port) is not fetched by the provider; only 80 and 443")
        }
        let scope = hostScope
        if !allowingNonPublicHosts, !scope.isPubliclyRoutable {
            return TaskRequestError(
                code: .forbiddenHost, field: TaskAPI.Field.imageURL,
                reason: "host is \(scope), not reachable by the provider")
        }
        return nil
    }

    /// The full URL text, including query and userinfo: for the wire only, never for logs.
    public var absoluteString: String { url.absoluteString }

    /// The redacted form (scheme, host, port, path); safe to log.
    public var description: String { RedactedURL(url).description }
}
