public import NetworkAddress
import OCRTaskAPI

/// Why ``GuardedFetcher`` refused or gave up on a download (transport failures of the HTTP
/// client are thrown as they are). Descriptions show URLs only redacted.
public enum GuardedFetchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The host's name or one of its addresses is of a scope the policy does not permit.
    /// `address` is the resolved address at fault, `nil` when the name itself was refused.
    case forbidden(url: String, scope: HostScope, address: String?)
    /// The port is not one of the allowed ones.
    case forbiddenPort(url: String, port: Int)
    /// The host did not resolve to any address; `noAnswerWithin` when the resolver did not
    /// answer within that time.
    case unresolvable(url: String, noAnswerWithin: Duration? = nil)
    /// More redirects than allowed; `status` is the last redirect's.
    case tooManyRedirects(url: String, limit: Int, status: Int)
    /// A redirect without a usable `Location` (not http/https, no host, unparsable).
    case invalidRedirect(url: String, status: Int)
    /// The overall deadline passed before the download (head and body) finished.
    case deadlineExceeded

    public var description: String {
        switch self {
        case .forbidden(let url, let scope, let address?):
            "\(url) resolves to a \(scope) address (\(address)); fetching it is disabled"
        case .forbidden(let url, let scope, nil):
            "\(url) names a \(scope) host; fetching it is disabled"
        case .forbiddenPort(let url, let port):
            "\(url): port \(port) is not allowed; only 80 and 443"
        case .unresolvable(let url, let limit?):
            "could not resolve the host of \(url): the resolver did not answer within \(Self.shown(limit))"
        case .unresolvable(let url, nil):
            "could not resolve the host of \(url)"
        case .tooManyRedirects(let url, let limit, _):
            "\(url) redirects more than \(limit) times"
        case .invalidRedirect(let url, _):
            "\(url) redirects to an invalid location"
        case .deadlineExceeded:
            "the download did not finish before its deadline"
        }
    }

    /// `10 s`, `500 ms`.
    private static func shown(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(seconds) s" : "\(milliseconds) ms"
    }
}
