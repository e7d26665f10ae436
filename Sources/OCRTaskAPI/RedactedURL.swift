public import Foundation

/// A URL reduced to what is safe to log: scheme, host, port and path. Userinfo, query and
/// fragment are dropped, because presigned result URLs carry their signature in the query
/// and source URLs may carry credentials in either.
public struct RedactedURL: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(_ url: URL) {
        self.init(url.absoluteString)
    }

    /// Redacts text that may or may not be a URL. Unparseable text is reduced to what
    /// comes before the first `?` or `#` and after the last `@` of the authority, so even
    /// garbage is never logged with its secret part.
    public init(_ text: String) {
        if let components = URLComponents(string: text), let scheme = components.scheme,
            let host = components.host
        {
            var out = scheme.lowercased() + "://"
            out += host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            if let port = components.port { out += ":\(port)" }
            out += components.percentEncodedPath
            if components.percentEncodedQuery != nil { out += "?<redacted>" }
            description = out
        } else {
            var cut = text.prefix { $0 != "?" && $0 != "#" }
            if let at = cut.lastIndex(of: "@") {
                let schemeEnd = cut.range(of: "://")?.upperBound ?? cut.startIndex
                cut = cut[..<schemeEnd] + cut[cut.index(after: at)...]
            }
            description = String(cut) + (cut.count < text.count ? "?<redacted>" : "")
        }
    }

    /// Shorthand for logging: `RedactedURL.string(url)`.
    public static func string(_ text: String) -> String { RedactedURL(text).description }
}
