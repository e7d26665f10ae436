import AsyncHTTPClient
import Deadlines
import Foundation
public import Logging
public import NIOCore
public import NIOHTTP1
import NIOPosix
public import NetworkAddress
public import OCRTaskAPI

/// GET with an SSRF guard: the one download path of the worker (source uploads, the -3
/// fallback, result rehosting) and of ocr-server (`image_url`).
///
/// For every hop (the first URL and each redirect, followed by hand up to
/// ``maxRedirects``):
/// 1. the port must be allowed, and the host's name must be of a scope ``policy`` permits
///    (`localhost`, `metadata.google.internal` are refused by name);
/// 2. the host is resolved **once** through ``resolver`` (within ``resolveTimeout``), and
///    **every** address must be of
///    a permitted scope (``HostScope/classify(address:)``, which also reads the IPv4
///    address inside NAT64, 6to4, Teredo and IPv4-mapped forms);
/// 3. the connection goes to a checked address (the first; the next ones only if no
///    connection could be made): the hop runs on an HTTP client of its own whose
///    `dnsOverride` maps the name to that address literal, so AsyncHTTPClient never
///    resolves the name again (no window for DNS rebinding), while the `Host` header, TLS
///    SNI and certificate verification still use the name.
///
/// AsyncHTTPClient (1.37) has no per-request resolver or address; `dnsOverride` is a
/// client-wide setting, hence a short-lived client per hop (on the shared event loop group;
/// downloads are one connection each anyway). The whole download, head and body, must end
/// before the caller's deadline: AsyncHTTPClient's own deadline stops at the head.
public struct GuardedFetcher: Sendable {
    public var policy: AddressPolicy
    public var resolver: any HostResolver
    /// Ports a URL may name; `nil` allows any.
    public var allowedPorts: Set<Int>?
    public var maxRedirects: Int
    public var connectTimeout: TimeAmount
    /// Longest silence while waiting for bytes.
    public var readTimeout: TimeAmount
    /// Longest wait for the resolver's answer for one hop; the hop fails as unresolvable
    /// beyond (the lookup is abandoned, not waited for: `Deadline`).
    public var resolveTimeout: Duration

    public init(
        policy: AddressPolicy, resolver: any HostResolver = SystemHostResolver(), allowedPorts: Set<Int>? = nil,
        maxRedirects: Int = 5, connectTimeout: TimeAmount = .seconds(10), readTimeout: TimeAmount = .seconds(60),
        resolveTimeout: Duration = .seconds(10)
    ) {
        self.policy = policy
        self.resolver = resolver
        self.allowedPorts = allowedPorts
        self.maxRedirects = maxRedirects
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.resolveTimeout = resolveTimeout
    }

    /// GETs `url`, following redirects, and hands the final response (any status but a
    /// redirect) to `body`, which reads the body. Everything must finish by `deadline`,
    /// else ``GuardedFetchError/deadlineExceeded``. `headers` gives each hop's request
    /// headers (an API key may go to one origin only). Transport failures are thrown as
    /// AsyncHTTPClient threw them.
    ///
    /// `observe` sees every request on the wire: its URL, status (`nil` when no reply
    /// came) and time to the response head.
    public func get<T: Sendable>(
        _ url: DocumentURL, deadline: NIODeadline, logger: Logger? = nil,
        headers: @escaping @Sendable (DocumentURL) -> HTTPHeaders,
        observe: (@Sendable (DocumentURL, Int?, Duration) -> Void)? = nil,
        _ body: @escaping @Sendable (GuardedResponse) async throws -> T
    ) async throws -> T {
        try await Self.withDeadline(deadline) {
            try await follow(url, deadline: deadline, logger: logger, headers: headers, observe: observe, body)
        }
    }

    private func follow<T: Sendable>(
        _ start: DocumentURL, deadline: NIODeadline, logger: Logger?,
        headers: @Sendable (DocumentURL) -> HTTPHeaders,
        observe: (@Sendable (DocumentURL, Int?, Duration) -> Void)?,
        _ body: @Sendable (GuardedResponse) async throws -> T
    ) async throws -> T {
        var url = start
        var redirects = 0
        while true {
            let target = try await check(url)
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .GET
            request.headers = headers(url)
            let (client, response, address) = try await send(
                request, to: target, url: url, deadline: deadline, logger: logger, observe: observe)
            let next: DocumentURL
            do {
                let status = Int(response.status.code)
                guard [301, 302, 303, 307, 308].contains(status), let location = response.headers.first(name: "Location")
                else {
                    let result = try await body(
                        GuardedResponse(response: response, url: url, address: address, redirects: redirects))
                    try? await client.shutdown()
                    return result
                }
                redirects += 1
                guard redirects <= maxRedirects else {
                    throw GuardedFetchError.tooManyRedirects(url: start.description, limit: maxRedirects, status: status)
                }
                guard let resolved = URL(string: location, relativeTo: url.url)?.absoluteURL,
                    let nextURL = try? DocumentURL(resolved.absoluteString, field: "location")
                else {
                    throw GuardedFetchError.invalidRedirect(url: url.description, status: status)
                }
                next = nextURL
            } catch {
                try? await client.shutdown()
                throw error
            }
            try? await client.shutdown()
            url = next
        }
    }

    /// Sends one hop's request to the checked addresses in turn, moving to the next only
    /// when a connection could not be made (what AsyncHTTPClient does over the addresses
    /// it resolves itself, though it races them; it retries a refused connection until
    /// ``connectTimeout``, so the next address comes after that). Returns the client that
    /// got the response: the caller shuts it down once the body is read.
    private func send(
        _ request: HTTPClientRequest, to target: Target, url: DocumentURL, deadline: NIODeadline, logger: Logger?,
        observe: (@Sendable (DocumentURL, Int?, Duration) -> Void)?
    ) async throws -> (HTTPClient, HTTPClientResponse, IPAddress) {
        for (index, address) in target.addresses.enumerated() {
            let client = Self.makeClient(
                host: target.host, pinnedTo: target.isLiteral ? nil : address, connectTimeout: connectTimeout,
                readTimeout: readTimeout)
            let started = ContinuousClock.now
            do {
                let response = try await client.execute(request, deadline: deadline, logger: logger)
                let status = Int(response.status.code)
                observe?(url, status, ContinuousClock.now - started)
                logger?.debug(
                    "guarded fetch hop", metadata: ["url": "\(url)", "address": "\(address)", "status": "\(status)"])
                return (client, response, address)
            } catch {
                observe?(url, nil, ContinuousClock.now - started)
                try? await client.shutdown()
                guard index + 1 < target.addresses.count, Self.isConnectFailure(error) else { throw error }
                logger?.debug(
                    "guarded fetch: next address", metadata: ["url": "\(url)", "address": "\(address)", "error": "\(error)"])
            }
        }
        throw GuardedFetchError.unresolvable(url: url.description)
    }

    /// Whether `error` means no connection was made (so another address may be tried).
    static func isConnectFailure(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .connectTimeout
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case is NIOConnectionError:
            return true
        case let error as IOError:
            return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ETIMEDOUT, EADDRNOTAVAIL].contains(error.errnoCode)
        default:
            return false
        }
    }

    /// Where one hop may connect: the host as AsyncHTTPClient reads it from the URL, and
    /// the checked addresses, in the resolver's order.
    struct Target: Sendable {
        var host: String
        var addresses: [IPAddress]
        var isLiteral: Bool
    }

    /// Checks one hop's port, name and addresses (resolving the name once) and returns the
    /// addresses to connect to: all of them passed.
    func check(_ url: DocumentURL) async throws(GuardedFetchError) -> Target {
        let shown = url.description
        if let allowedPorts, !allowedPorts.contains(url.port) { throw .forbiddenPort(url: shown, port: url.port) }
        // The host exactly as AsyncHTTPClient will read it from the request URL: the key of
        // its dnsOverride must match it, or it would resolve the name itself.
        guard var host = URL(string: url.absoluteString)?.host, !host.isEmpty else {
            throw .forbidden(url: shown, scope: .unspecified, address: nil)
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // A literal AsyncHTTPClient connects to as it is (inet_pton's forms only; "127.1" or
        // "010.0.0.1" are names to it, resolved below and pinned).
        if (try? SocketAddress(ipAddress: host, port: 0)) != nil {
            guard let address = IPAddress(host) else { throw .forbidden(url: shown, scope: .unspecified, address: host) }
            let scope = HostScope.classify(address: address)
            guard policy.permits(scope) else { throw .forbidden(url: shown, scope: scope, address: address.description) }
            return Target(host: host, addresses: [address], isLiteral: true)
        }
        let nameScope = HostScope.classify(host: host)
        guard policy.permits(nameScope) else { throw .forbidden(url: shown, scope: nameScope, address: nil) }
        let answer: [IPAddress]?
        do {
            // A blocked getaddrinfo cannot be interrupted: the lookup is abandoned at the
            // deadline, not waited for.
            answer = try await Deadline.run(within: resolveTimeout) { [host, resolver] _ in try await resolver.resolve(host) }
        } catch {
            throw .unresolvable(url: shown)
        }
        guard let addresses = answer else { throw .unresolvable(url: shown, noAnswerWithin: resolveTimeout) }
        guard !addresses.isEmpty else { throw .unresolvable(url: shown) }
        for address in addresses {
            let scope = HostScope.classify(address: address)
            guard policy.permits(scope) else { throw .forbidden(url: shown, scope: scope, address: address.description) }
        }
        return Target(host: host, addresses: addresses, isLiteral: false)
    }

    /// A client for one hop that connects to the checked address and nowhere else (`nil`:
    /// the host is that address literal already).
    static func makeClient(
        host: String, pinnedTo address: IPAddress?, connectTimeout: TimeAmount, readTimeout: TimeAmount
    ) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: connectTimeout, read: readTimeout)
        configuration.decompression = .disabled
        if let address { configuration.dnsOverride = [host: address.description] }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `operation`, throwing ``GuardedFetchError/deadlineExceeded`` if it has not
    /// finished by `deadline` (it is cancelled then). A failure of `operation` after the
    /// deadline (AsyncHTTPClient's own deadline, a read cut by the cancellation) is reported
    /// as the deadline too.
    public static func withDeadline<T: Sendable>(
        _ deadline: NIODeadline, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                let remaining = (deadline - .now()).nanoseconds
                if remaining > 0 { try await Task.sleep(nanoseconds: UInt64(remaining)) }
                throw GuardedFetchError.deadlineExceeded
            }
            defer { group.cancelAll() }
            do {
                guard let result = try await group.next() else { throw GuardedFetchError.deadlineExceeded }
                return result
            } catch {
                if NIODeadline.now() >= deadline, !Task.isCancelled { throw GuardedFetchError.deadlineExceeded }
                throw error
            }
        }
    }
}
