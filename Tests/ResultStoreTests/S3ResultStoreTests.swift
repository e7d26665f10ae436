import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import ResultStore

/// A throwaway `moto_server` (moto[server] from PyPI, in .tools/venv) on a free loopback
/// port: a local S3 endpoint. Started per test, stopped after.
final class MotoServer: Sendable {
    let process: Process
    let port: Int
    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    static var binary: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".tools/venv/bin/moto_server")
    }

    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    init() async throws {
        port = try LoopbackPort.reserve()
        process = Process()
        process.executableURL = Self.binary
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when it answers HTTP; give up after 30 s.
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/moto-api/")
            request.method = .GET
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)),
                response.status.code < 500
            {
                _ = try? await response.body.collect(upTo: 1 << 20)
                break
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                stop()
                throw ResultStoreError(code: .io, message: "moto_server did not become ready on port \(port)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// SIGTERM, then SIGKILL after 3 s: moto's handler calls `sys.exit`, which the
    /// development server does not always act on promptly.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

}

@Suite(.serialized, .enabled(if: MotoServer.isInstalled, "moto[server] is not installed in .tools/venv"))
struct S3ResultStoreTests {
    static let credentials = SigV4Signer.Credentials(accessKeyID: "testing", secretAccessKey: "testing-secret")

    func withStore(
        partSize: Int = S3Configuration.minimumPartSize, _ body: (S3ResultStore) async throws -> Void
    ) async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let config = try ResultStoreConfiguration(
            url: "s3://results-bucket/ocr?endpoint=\(moto.endpoint.absoluteString)&region=us-east-1&path_style=true&part_size=\(partSize)",
            environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret"])
        guard case .s3(let s3) = config else { throw ResultStoreError(code: .misuse, message: "not s3") }
        let store = try S3ResultStore(configuration: s3)
        _ = try store.check(await store.send(method: .PUT, objectKey: nil), "CreateBucket")
        try await body(store)
    }

    func fetch(_ store: S3ResultStore, key: String) async throws -> (status: Int, body: [UInt8], contentType: String?) {
        let response = try await store.send(
            method: .GET, objectKey: try store.objectKey(forKey: key), maxResponseBytes: 64 << 20)
        return (response.status, Array(buffer: response.body), response.headers.first(name: "content-type"))
    }

    @Test func smallFileIsOnePut() async throws {
        try await withStore { store in
            let bytes = patternBytes(200_000)
            let writer = try await store.makeWriter(key: "tenant/acme:1.pdf", contentType: "application/pdf")
            try await stream(bytes, into: writer, chunk: 65_536)
            let stored = try await writer.finish()
            #expect(stored.location == "s3://results-bucket/ocr/tenant/acme%3A1.pdf")
            #expect(stored.size == 200_000)
            #expect(stored.sha256 == hexSHA256(bytes))
            let fetched = try await fetch(store, key: "tenant/acme:1.pdf")
            #expect(fetched.status == 200)
            #expect(fetched.body == bytes)
            #expect(fetched.contentType == "application/pdf")
        }
    }

    @Test func largeFileIsAMultipartUpload() async throws {
        try await withStore { store in
            let bytes = patternBytes(12 * 1024 * 1024 + 12_345, seed: 3)
            let writer = try await store.makeWriter(key: "big.docx", contentType: "application/octet-stream")
            try await stream(bytes, into: writer, chunk: 1_000_000)
            let stored = try await writer.finish()
            #expect(stored.size == Int64(bytes.count))
            #expect(stored.sha256 == hexSHA256(bytes))
            let fetched = try await fetch(store, key: "big.docx")
            #expect(fetched.status == 200)
            #expect(fetched.body.count == bytes.count)
            #expect(hexSHA256(fetched.body) == hexSHA256(bytes))
        }
    }

    @Test func resetAndAbortLeaveNoObject() async throws {
        try await withStore { store in
            let writer = try await store.makeWriter(key: "retry.txt", contentType: "text/plain")
            try await stream(patternBytes(6 * 1024 * 1024), into: writer) // one part uploaded
            try await writer.reset()
            try await writer.write(ByteBuffer(string: "second try"))
            _ = try await writer.finish()
            #expect(try await fetch(store, key: "retry.txt").body == Array("second try".utf8))

            let aborted = try await store.makeWriter(key: "aborted.txt", contentType: "text/plain")
            try await stream(patternBytes(6 * 1024 * 1024), into: aborted)
            await aborted.abort()
            #expect(try await fetch(store, key: "aborted.txt").status == 404)
            let uploads = try await store.send(method: .GET, objectKey: nil, query: [("uploads", "")])
            #expect(!String(buffer: uploads.body).contains("<UploadId>"), "\(String(buffer: uploads.body))")
        }
    }

    @Test func wrongSecretIsRefusedWithoutEchoingIt() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        // moto accepts any credentials by default; this checks the error path and that a
        // failing request's error text never contains the secret.
        let store = try S3ResultStore(
            configuration: .init(
                endpoint: moto.endpoint, bucket: "no-such-bucket", region: "us-east-1", pathStyle: true,
                credentials: .init(accessKeyID: "testing", secretAccessKey: "VERYSECRETKEY")))
        let writer = try await store.makeWriter(key: "x.txt", contentType: "text/plain")
        try await writer.write(ByteBuffer(string: "x"))
        do {
            _ = try await writer.finish()
            Issue.record("upload to a missing bucket succeeded")
        } catch {
            #expect("\(error)".contains("NoSuchBucket"), "\(error)")
            #expect(!"\(error)".contains("VERYSECRETKEY"))
        }
    }
}
