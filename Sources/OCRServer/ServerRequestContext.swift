public import Hummingbird
public import NIOCore

/// The request context of ocr-server's routes: Hummingbird's basics plus the peer's
/// address, which decides whether forwarded headers are believed (``TrustedProxies``).
public struct ServerRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer; nil when the request did not come over a socket (router tests).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
