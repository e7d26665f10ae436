import Foundation
import GuardedFetch
import NIOCore
import OCRClient
import OCRTaskAPI
import TestSupport
import Testing

/// The worker's own downloads (source uploads in `auto` mode, the -3 fallback's upload,
/// result rehosting) through the SSRF guard, and the result download's bounds.
@Suite struct DownloadGuardTests {
    func sink() -> FileResultSink {
        FileResultSink(path: FileManager.default.temporaryDirectory.appendingPathComponent("guard-\(UUID())").path)
    }

    @Test func resultRedirectToTheMetadataServiceIsRefused() async throws {
        try await Harness.run { h in
            h.server.inject(.redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/"), on: "/results/")
            let error = await h.expectError { () async throws(OCRClientError) in
                try await h.client.downloadResult(from: "\(h.server.baseURL)/results/r.txt?sig=\(Harness.querySecret)", into: sink())
            }
            #expect(error?.code == .forbiddenAddress, "\(String(describing: error))")
            #expect(error?.action == .permanentFailure)
            #expect(error?.reason.contains("metadata") == true, "\(String(describing: error))")
        }
    }

    @Test func resultRedirectToANameResolvingToLinkLocalIsRefused() async throws {
        let resolver = StubResolver(["files.example.test": [["169.254.7.7"]]])
        try await Harness.run(resolver: resolver) { h in
            h.server.inject(.redirect("http://files.example.test/r.txt"), on: "/results/")
            let error = await h.expectError { () async throws(OCRClientError) in
                try await h.client.downloadResult(from: "\(h.server.baseURL)/results/r.txt", into: sink())
            }
            #expect(error?.code == .forbiddenAddress && error?.reason.contains("link_local") == true, "\(String(describing: error))")
            #expect(resolver.calls("files.example.test") == 1)
        }
    }

    /// A rebinding name: loopback first (where the fake server is), metadata after. The
    /// download reaches the server, so it connected to the first, checked answer; the
    /// resolver was asked once.
    @Test func resultHostIsResolvedOnceAndTheCheckedAddressIsUsed() async throws {
        let resolver = StubResolver(["results.rebind.test": [["127.0.0.1"], ["169.254.169.254"]]])
        try await Harness.run(resolver: resolver) { h in
            h.server.addGenerated("/results/ok.txt", size: 70_000)
            let result = try await h.client.downloadResult(
                from: "http://results.rebind.test:\(h.server.port)/results/ok.txt", into: sink())
            #expect(result.size == 70_000)
            #expect(resolver.calls("results.rebind.test") == 1)
        }
    }

    @Test func sourceUploadAndMinus3FallbackNeverFetchMetadata() async throws {
        let resolver = StubResolver(["docs.example.test": [["fd00:ec2::254"]]])
        try await Harness.run(resolver: resolver) { h in
            // auto: a loopback source is downloaded and uploaded by us; it redirects.
            h.server.inject(.redirect("http://100.100.100.200/latest/meta-data/"), on: "/source/")
            let auto = await h.expectError { () async throws(OCRClientError) in
                try await h.client.createTask(source: .url("\(h.server.baseURL)/source/a.pdf"), options: Harness.options)
            }
            #expect(auto?.code == .forbiddenAddress && auto?.endpoint == .sourceFetch, "\(String(describing: auto))")
            // The -3 fallback (upload): a public-looking name resolving to AWS's IPv6 metadata.
            let fallback = await h.expectError { () async throws(OCRClientError) in
                try await h.client.createTask(
                    source: .url("https://docs.example.test/a.pdf"), options: Harness.options, sourcePolicy: .upload)
            }
            #expect(fallback?.code == .forbiddenAddress && fallback?.action == .permanentFailure, "\(String(describing: fallback))")
            #expect(!h.server.requests.contains { $0.method == "POST" }, "no task was created")
        }
    }

    @Test func resultOverTheSizeLimitFailsWithAReason() async throws {
        // A generous read timeout: under a loaded parallel run the fake server can be slower
        // than the harness's 2 s, and this test is about the size limit.
        try await Harness.run(configure: { $0.maxResultBytes = 100_000 }) { h in
            h.server.addGenerated("/results/big.txt", size: 300_000)
            let error = await h.expectError { () async throws(OCRClientError) in
                try await h.client.downloadResult(from: "\(h.server.baseURL)/results/big.txt", into: sink())
            }
            #expect(error?.code == .resultTooLarge && error?.action == .permanentFailure, "\(String(describing: error))")
            #expect(error?.reason.contains("100000") == true, "\(String(describing: error))")
        }
    }

    @Test func resultTricklingPastTheDeadlineFails() async throws {
        try await Harness.run(configure: { $0.resultDownloadTimeout = .milliseconds(800) }) { h in
            // One byte per 100 ms: never idle for the 2 s read timeout, done only after 100 s.
            h.server.inject(.trickle(bytes: 1000, interval: .milliseconds(100)), on: "/results/")
            let started = ContinuousClock.now
            let error = await h.expectError { () async throws(OCRClientError) in
                try await h.client.downloadResult(from: "\(h.server.baseURL)/results/slow.txt", into: sink())
            }
            #expect(error?.code == .deadlineExceeded && error?.action == .permanentFailure, "\(String(describing: error))")
            // Stopped by the deadline, far sooner than the body would end (100 s).
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }
}
