import Foundation
import OCRClient
import OCRTaskAPI
import TestSupport
import Testing

/// A document the worker uploads is fetched ahead of its create into a file: bounded by
/// the document limit and by one deadline for the whole transfer, and nothing is left
/// behind when it fails.
@Suite struct SourceFetchTests {
    func directory() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("sources-\(UUID())").path }

    func files(in directory: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] }

    @Test func aDocumentTheCreateWouldUploadIsFetchedIntoAFile() async throws {
        try await Harness.run { h in
            let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }
            h.server.addSource("/source/scan.pdf", bytes: bytes)
            let into = directory()
            defer { try? FileManager.default.removeItem(atPath: into) }
            // `auto` with a loopback URL: the provider could not fetch it, so we upload.
            let fetched = try #require(
                try await h.client.fetchSource(.url("\(h.server.baseURL)/source/scan.pdf"), sourcePolicy: nil, into: into))
            #expect(fetched.bytes == 70_000)
            #expect(fetched.filename == "scan.pdf")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: fetched.path))) == bytes)
            let created = try await h.client.createTask(source: fetched.source, options: Harness.options)
            #expect(created.uploadedBytes == 70_000)
            fetched.remove()
            #expect(files(in: into).isEmpty)
            // A local file needs no fetch.
            #expect(try await h.client.fetchSource(.file(path: "/etc/hostname"), sourcePolicy: .upload, into: into) == nil)
        }
    }

    @Test func aTricklingSourceIsStoppedByTheTransferDeadline() async throws {
        try await Harness.run(configure: { $0.transferTimeout = .milliseconds(800) }) { h in
            // One byte per 100 ms: never idle long enough for the read timeout.
            h.server.inject(.trickle(bytes: 1000, interval: .milliseconds(100)), on: "/source/")
            let into = directory()
            defer { try? FileManager.default.removeItem(atPath: into) }
            let started = ContinuousClock.now
            let error = await h.expectError { () async throws(OCRClientError) in
                _ = try await h.client.fetchSource(.url("\(h.server.baseURL)/source/slow.pdf"), sourcePolicy: .upload, into: into)
            }
            #expect(error?.code == .deadlineExceeded && error?.action == .permanentFailure, "\(String(describing: error))")
            // Stopped by the deadline, far sooner than the body would end (100 s).
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(files(in: into).isEmpty, "no partial copy left")
        }
    }

    @Test func aDocumentOverTheLimitIsRefusedAndNothingIsKept() async throws {
        try await Harness.run(configure: { $0.maxDocumentBytes = 1000 }) { h in
            h.server.addGenerated("/source/big.pdf", size: 50_000)
            let into = directory()
            defer { try? FileManager.default.removeItem(atPath: into) }
            let error = await h.expectError { () async throws(OCRClientError) in
                _ = try await h.client.fetchSource(.url("\(h.server.baseURL)/source/big.pdf"), sourcePolicy: .upload, into: into)
            }
            #expect(error?.code == .documentTooLarge, "\(String(describing: error))")
            #expect(files(in: into).isEmpty)
        }
    }
}
