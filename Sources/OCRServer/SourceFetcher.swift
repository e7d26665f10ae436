import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import OCRTaskAPI

#if canImport(Glibc)
    import Glibc
#endif

/// Why an `image_url` could not be fetched.
enum FetchFailure: Error {
    /// State -3: the source could not be downloaded (or may not be, by the SSRF rule).
    case download(String)
    /// State -5: the source is larger than the limit.
    case tooLarge(String)
}

/// Downloads `image_url` documents with the SSRF guard: only http/https, only ports 80 and
/// 443 (unless `allowAnyPort`), and, unless `allowPrivate`, never a host any of whose
/// addresses is loopback, private, link-local or unspecified. Redirects are followed by
/// hand (at most 5) so every hop passes the same checks.
///
/// Residual risk, documented: the host is resolved for the check and again by the HTTP
/// client, so a DNS server that answers differently within that window (rebinding) could
/// slip through; deployments that must exclude that run with a resolver that pins answers
/// or block private ranges at the network level too.
struct SourceFetcher: Sendable {
    let client: HTTPClient
    let allowPrivate: Bool
    let allowAnyPort: Bool
    let maxBytes: Int64
    let timeout: TimeInterval

    func download(_ start: DocumentURL, to destination: URL) async throws(FetchFailure) -> Int64 {
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
        var current = start
        for _ in 0...5 {
            try await check(current)
            var request = HTTPClientRequest(url: current.absoluteString)
            request.method = .GET
            request.headers.add(name: "User-Agent", value: "ocr-server")
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, deadline: deadline)
            } catch {
                throw .download("could not download image_url \(current): \(Self.describe(error))")
            }
            if (300..<400).contains(Int(response.status.code)), let location = response.headers.first(name: "Location") {
                guard let next = URL(string: location, relativeTo: current.url)?.absoluteURL,
                    let nextURL = try? DocumentURL(next.absoluteString)
                else {
                    throw .download("image_url \(current) redirects to an invalid location")
                }
                current = nextURL
                continue
            }
            guard response.status.code == 200 else {
                throw .download("image_url \(current) answered HTTP \(response.status.code)")
            }
            if let length = response.headers.first(name: "Content-Length").flatMap(Int64.init), length > maxBytes {
                throw .tooLarge("the document at image_url is \(length) bytes; the limit is \(maxBytes)")
            }
            return try await save(response.body, from: current, to: destination)
        }
        throw .download("image_url \(start) redirects more than 5 times")
    }

    private func save(_ body: HTTPClientResponse.Body, from url: DocumentURL, to destination: URL) async throws(FetchFailure) -> Int64 {
        guard FileManager.default.createFile(atPath: destination.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = try? FileHandle(forWritingTo: destination)
        else {
            throw .download("server could not create the download file")
        }
        defer { try? handle.close() }
        let writer = FileWriter(handle: handle)
        var total: Int64 = 0
        var pending = Data()
        do {
            for try await buffer in body {
                total += Int64(buffer.readableBytes)
                if total > maxBytes {
                    throw FetchFailure.tooLarge("the document at image_url exceeds \(maxBytes) bytes")
                }
                pending.append(contentsOf: buffer.readableBytesView)
                if pending.count >= 1024 * 1024 {
                    try await writer.write(pending)
                    pending = Data()
                }
            }
            if !pending.isEmpty { try await writer.write(pending) }
        } catch let failure as FetchFailure {
            throw failure
        } catch {
            throw .download("download of image_url \(url) failed: \(Self.describe(error))")
        }
        return total
    }

    /// The port rule and the address rule for one hop.
    func check(_ url: DocumentURL) async throws(FetchFailure) {
        if !allowAnyPort, url.port != 80, url.port != 443 {
            throw .download("image_url port \(url.port) is not allowed; only 80 and 443")
        }
        if allowPrivate { return }
        let addresses: [String]
        do {
            addresses = try await Self.resolve(host: url.host)
        } catch {
            throw .download("could not resolve the host of image_url \(url)")
        }
        guard !addresses.isEmpty else { throw .download("could not resolve the host of image_url \(url)") }
        for address in addresses {
            let scope = HostScope.classify(host: address)
            if scope != .public {
                throw .download(
                    "image_url \(url) resolves to a \(scope) address (\(address)); fetching loopback, private and link-local addresses is disabled on this server")
            }
        }
    }

    /// Every address the host resolves to (literal addresses as they are).
    static func resolve(host rawHost: String) async throws -> [String] {
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        return try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
            defer { freeaddrinfo(first) }
            var addresses: [String] = []
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let current = entry {
                var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
                if let address = current.pointee.ai_addr {
                    if current.pointee.ai_family == AF_INET {
                        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                            var addr = pointer.pointee.sin_addr
                            _ = inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
                        }
                    } else if current.pointee.ai_family == AF_INET6 {
                        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                            var addr = pointer.pointee.sin6_addr
                            _ = inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
                        }
                    }
                    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    if !text.isEmpty, !addresses.contains(text) { addresses.append(text) }
                }
                entry = current.pointee.ai_next
            }
            return addresses
        }
    }

    static func describe(_ error: any Error) -> String {
        return String(describing: error).prefix(200).description
    }
}
