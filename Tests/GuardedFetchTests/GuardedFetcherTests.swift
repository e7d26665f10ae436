import AsyncHTTPClient
import Foundation
import GuardedFetch
import NIOCore
import NIOHTTP1
import NetworkAddress
import OCRTaskAPI
import TestSupport
import Testing

/// The SSRF guard on a real loopback server, with a scripted resolver: names under `.test`
/// resolve only through it, so a download that reaches the server proves the connection
/// went to the address the guard checked (the system resolver knows no such name).
@Suite struct GuardedFetcherTests {
    static let document = Array("%PDF-1.4 guarded".utf8)

    func withServer(_ body: (ScriptedServer) async throws -> Void) async throws {
        let server = try await ScriptedServer.start()
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Downloads `url` and returns the body, or the error.
    func download(_ fetcher: GuardedFetcher, _ url: String, seconds: Int64 = 10) async -> Result<[UInt8], any Error> {
        do {
            let url = try DocumentURL(url)
            let bytes = try await fetcher.get(url, deadline: .now() + .seconds(seconds), headers: { _ in HTTPHeaders() }) {
                guarded in
                Array(try await guarded.response.body.collect(upTo: 1 << 20).readableBytesView)
            }
            return .success(bytes)
        } catch {
            return .failure(error)
        }
    }

    func refusal(_ result: Result<[UInt8], any Error>) -> GuardedFetchError? {
        guard case .failure(let error) = result else { return nil }
        return error as? GuardedFetchError
    }

    @Test func theNameIsResolvedOnceAndTheConnectionGoesToTheCheckedAddress() async throws {
        try await withServer { server in
            server.reply("/doc.pdf", .bytes(Self.document))
            // First answer loopback (allowed here), every later one the metadata service.
            let resolver = StubResolver(["docs.rebind.test": [["127.0.0.1"], ["169.254.169.254"]]])
            let fetcher = GuardedFetcher(policy: .allowingPrivate, resolver: resolver)
            let result = await download(fetcher, "http://docs.rebind.test:\(server.port)/doc.pdf")
            let bytes = try result.get()
            #expect(bytes == Self.document)
            #expect(resolver.calls("docs.rebind.test") == 1, "one resolution per hop, none by the HTTP client")
            // Host header and (for https) SNI keep the name.
            #expect(server.seen.first?.host == "docs.rebind.test:\(server.port)")
        }
    }

    /// Like AsyncHTTPClient over the addresses it resolves itself: an address that refuses
    /// the connection gives way to the next checked one (127.0.0.2 is loopback too, but
    /// nothing listens there), without a second resolution.
    @Test func anUnreachableAddressGivesWayToTheNextCheckedOne() async throws {
        try await withServer { server in
            server.reply("/doc.pdf", .bytes(Self.document))
            let resolver = StubResolver(["two.example.test": [["127.0.0.2", "127.0.0.1"]]])
            // AsyncHTTPClient retries a refused connection until its connect timeout.
            let fetcher = GuardedFetcher(policy: .allowingPrivate, resolver: resolver, connectTimeout: .seconds(2))
            let url = try DocumentURL("http://two.example.test:\(server.port)/doc.pdf")
            let address = try await fetcher.get(url, deadline: .now() + .seconds(10), headers: { _ in HTTPHeaders() }) {
                guarded in
                _ = try await guarded.response.body.collect(upTo: 1 << 20)
                return guarded.address
            }
            #expect(address == IPAddress("127.0.0.1"))
            #expect(resolver.calls("two.example.test") == 1)
        }
    }

    @Test func oneForbiddenAddressAmongTheAnswersRefusesTheHost() async throws {
        try await withServer { server in
            server.reply("/doc.pdf", .bytes(Self.document))
            let resolver = StubResolver(["mixed.example.test": [["127.0.0.1", "169.254.169.254"]]])
            let fetcher = GuardedFetcher(policy: .allowingPrivate, resolver: resolver)
            let error = refusal(await download(fetcher, "http://mixed.example.test:\(server.port)/doc.pdf"))
            guard case .forbidden(_, .metadata, "169.254.169.254")? = error else {
                Issue.record("expected a metadata refusal, got \(String(describing: error))")
                return
            }
            #expect(server.seen.isEmpty, "nothing was sent")
        }
    }

    @Test func redirectsToMetadataOrLinkLocalAreRefused() async throws {
        try await withServer { server in
            let resolver = StubResolver([
                "cdn.example.test": [["127.0.0.1"]], "evil.example.test": [["169.254.10.1"]],
                "nat64.example.test": [["64:ff9b::a9fe:a9fe"]],
            ])
            let fetcher = GuardedFetcher(policy: .allowingPrivate, resolver: resolver)
            let cases: [(target: String, scope: HostScope)] = [
                ("http://169.254.169.254/latest/meta-data/", .metadata),
                ("http://metadata.google.internal/computeMetadata/v1/", .metadata),
                ("http://evil.example.test/x", .linkLocal),
                ("http://nat64.example.test/x", .metadata),
                ("http://[fd00:ec2::254]/latest/", .metadata),
                ("http://100.100.100.200/latest/", .metadata),
            ]
            for (index, item) in cases.enumerated() {
                server.reply("/r\(index)", .redirect(item.target))
                let error = refusal(await download(fetcher, "http://cdn.example.test:\(server.port)/r\(index)"))
                guard case .forbidden(_, let scope, _)? = error, scope == item.scope else {
                    Issue.record("\(item.target): expected a \(item.scope) refusal, got \(String(describing: error))")
                    continue
                }
            }
            #expect(resolver.calls("cdn.example.test") == cases.count)
        }
    }

    /// ocr-server's default: loopback is refused by name, by literal and by resolved address,
    /// on any hop (every hop goes through this check, as the redirect test above shows).
    @Test func publicOnlyRefusesLoopbackHowever() async throws {
        let resolver = StubResolver(["looks-public.example.test": [["127.0.0.1"]], "six.example.test": [["::ffff:127.0.0.1"]]])
        let fetcher = GuardedFetcher(policy: .publicOnly, resolver: resolver)
        for url in [
            "http://localhost/a", "http://127.0.0.1/a", "http://[::1]/a", "http://looks-public.example.test/a",
            "http://six.example.test/a", "http://[64:ff9b::7f00:1]/a", "http://[2002:7f00:1::]/a", "http://[::127.0.0.1]/a",
        ] {
            let error = refusal(await download(fetcher, url))
            guard case .forbidden? = error else {
                Issue.record("\(url): expected a refusal, got \(String(describing: error))")
                continue
            }
        }
    }

    @Test func redirectLoopsStopAtTheHopLimit() async throws {
        try await withServer { server in
            server.reply("/loop", .redirect("/loop", status: 307))
            let fetcher = GuardedFetcher(policy: .allowingPrivate, resolver: StubResolver([:]), maxRedirects: 3)
            let error = refusal(await download(fetcher, "http://127.0.0.1:\(server.port)/loop"))
            guard case .tooManyRedirects(_, 3, 307)? = error else {
                Issue.record("expected tooManyRedirects, got \(String(describing: error))")
                return
            }
            #expect(server.seen.count == 4)
        }
    }

    @Test func aBodyTricklingPastTheDeadlineFails() async throws {
        try await withServer { server in
            // 1000 bytes at one per 50 ms: 50 s, never idle long enough for a read timeout.
            server.reply("/slow", .trickle(total: 1000, interval: .milliseconds(50)))
            let fetcher = GuardedFetcher(policy: .allowingPrivate, resolver: StubResolver([:]))
            let started = ContinuousClock.now
            let url = try DocumentURL("http://127.0.0.1:\(server.port)/slow")
            do {
                _ = try await fetcher.get(url, deadline: .now() + .milliseconds(700), headers: { _ in HTTPHeaders() }) {
                    guarded in
                    var count = 0
                    for try await chunk in guarded.response.body { count += chunk.readableBytes }
                    return count
                }
                Issue.record("the download finished although it was slower than its deadline")
            } catch GuardedFetchError.deadlineExceeded {
                let elapsed = ContinuousClock.now - started
                #expect(elapsed < .seconds(5), "stopped at the deadline, not at the end of the body: \(elapsed)")
            }
        }
    }
}
