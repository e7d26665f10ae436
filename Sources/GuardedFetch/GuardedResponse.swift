public import AsyncHTTPClient
public import NetworkAddress
public import OCRTaskAPI

/// The final (non-redirect) response of a ``GuardedFetcher`` download, body unread.
public struct GuardedResponse: Sendable {
    public var response: HTTPClientResponse
    /// The URL that answered (after redirects).
    public var url: DocumentURL
    /// The checked address the connection went to.
    public var address: IPAddress
    /// Redirects followed to get here.
    public var redirects: Int
}
