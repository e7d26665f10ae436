import Foundation
import GuardedFetch
import NIOCore
import OCRTaskAPI
import TestSupport
import Testing

@testable import OCRServer

/// ocr-server's `image_url` downloads through the shared SSRF guard.
@Suite struct SourceFetcherGuardTests {
    func destination() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("fetch-\(UUID())")
    }

    func failure(_ fetcher: SourceFetcher, _ url: String) async throws -> String? {
        let target = destination()
        defer { try? FileManager.default.removeItem(at: target) }
        let document = try DocumentURL(url)
        do {
            _ = try await fetcher.download(document, to: target)
            return nil
        } catch {
            switch error {
            case .download(let reason), .tooLarge(let reason): return reason
            }
        }
    }

    /// Allowing private sources (on-premises) never opens the metadata service or
    /// link-local addresses.
    @Test func metadataAndLinkLocalAreRefusedEvenWithPrivateSourcesAllowed() async throws {
        let resolver = StubResolver(["metadata.example.test": [["64:ff9b::a9fe:a9fe"]]])
        let fetcher = SourceFetcher(allowPrivate: true, allowAnyPort: false, maxBytes: 1 << 20, timeout: 5, resolver: resolver)
        for url in [
            "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/", "http://100.100.100.200/latest/",
            "http://metadata.google.internal/computeMetadata/v1/", "http://metadata.example.test/", "http://169.254.3.4/a.png",
        ] {
            let reason = try await failure(fetcher, url)
            #expect(reason?.contains("disabled") == true, "\(url): \(reason ?? "downloaded")")
        }
    }

    /// The default: IPv6 forms that carry a loopback, private or metadata IPv4 address,
    /// and the special-purpose IPv4 ranges, are not public.
    @Test func translatedAndSpecialPurposeAddressesAreNotPublic() async throws {
        let fetcher = SourceFetcher(allowPrivate: false, allowAnyPort: false, maxBytes: 1 << 20, timeout: 5)
        for url in [
            "http://[64:ff9b::7f00:1]/a.png", "http://[64:ff9b::a00:1]/a.png", "http://[2002:7f00:1::1]/a.png",
            "http://[::7f00:1]/a.png", "http://[::ffff:127.0.0.1]/a.png", "http://198.18.0.1/a.png", "http://192.0.0.8/a.png",
            "http://[2001:0:a9fe:a9fe::1]/a.png",
        ] {
            let reason = try await failure(fetcher, url)
            #expect(reason?.contains("disabled") == true, "\(url): \(reason ?? "downloaded")")
        }
    }

    @Test func theCheckedAddressIsTheOneConnectedTo() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        server.reply("/a.png", .bytes(Array("PNG".utf8)))
        let resolver = StubResolver(["img.rebind.test": [["127.0.0.1"], ["169.254.169.254"]]])
        // A generous timeout: this is about the address, and a loaded machine is slow.
        let fetcher = SourceFetcher(allowPrivate: true, allowAnyPort: true, maxBytes: 1 << 20, timeout: 60, resolver: resolver)
        let target = destination()
        defer { try? FileManager.default.removeItem(at: target) }
        let size = try await fetcher.download(try DocumentURL("http://img.rebind.test:\(server.port)/a.png"), to: target)
        #expect(size == 3)
        #expect(resolver.calls("img.rebind.test") == 1)
    }

    @Test func aBodySlowerThanTheDownloadTimeoutFails() async throws {
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        // One byte per 50 ms: the head comes at once, the body would take 50 s.
        server.reply("/slow.png", .trickle(total: 1000, interval: .milliseconds(50)))
        let fetcher = SourceFetcher(allowPrivate: true, allowAnyPort: true, maxBytes: 1 << 20, timeout: 0.7)
        let started = ContinuousClock.now
        let reason = try await failure(fetcher, "http://127.0.0.1:\(server.port)/slow.png")
        #expect(reason?.contains("did not download within") == true, "\(reason ?? "downloaded")")
        // Stopped by the deadline, far sooner than the body would end (50 s).
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
