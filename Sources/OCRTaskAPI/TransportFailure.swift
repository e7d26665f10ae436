import Foundation

/// A failure below HTTP semantics: no usable reply arrived.
public enum TransportFailure: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The connection was not established in time.
    case connectTimeout = "connect_timeout"
    /// Nothing or not enough arrived in time after the request was sent.
    case readTimeout = "read_timeout"
    /// Refused: nothing listens (provider restarting or down).
    case connectionRefused = "connection_refused"
    /// Reset or closed mid-exchange.
    case connectionReset = "connection_reset"
    /// Fewer body bytes than announced.
    case truncatedBody = "truncated_body"
    /// A reply that is not the contract's JSON (a proxy error page, cut JSON, wrong shape).
    case malformedReply = "malformed_reply"
    /// Name resolution failed.
    case dnsFailure = "dns_failure"
    /// The TLS handshake or certificate check failed: configuration, not chance.
    case tlsFailure = "tls_failure"
    /// Anything else at the transport level.
    case other

    public var description: String { rawValue }
}
