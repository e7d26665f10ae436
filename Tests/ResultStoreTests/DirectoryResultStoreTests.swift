import Crypto
import Foundation
import NIOCore
import Testing

@testable import ResultStore

func hexSHA256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

func patternBytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 13)) }
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("resultstore-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `bytes` through a writer in chunks of `chunk` bytes.
func stream(_ bytes: [UInt8], into writer: any ResultWriter, chunk: Int = 64 * 1024) async throws {
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + chunk, bytes.count)
        try await writer.write(ByteBuffer(bytes: bytes[offset..<end]))
        offset = end
    }
}

@Suite struct ResultKeyTests {
    @Test func sanitises() throws {
        #expect(try ResultKey.sanitize("a/b.pdf") == "a/b.pdf")
        #expect(try ResultKey.sanitize("acme:42@x.pdf") == "acme%3A42%40x.pdf")
        #expect(try ResultKey.sanitize("../etc/passwd") == "%2E./etc/passwd")
        #expect(try ResultKey.sanitize("a/./b") == "a/%2E/b")
        #expect(try ResultKey.sanitize(".hidden") == "%2Ehidden")
        #expect(try ResultKey.sanitize("100%") == "100%25")
        for bad in ["", "/abs", "a//b", "a/", String(repeating: "x", count: 256)] {
            #expect(throws: ResultStoreError.self, "\(bad)") { _ = try ResultKey.sanitize(bad) }
        }
    }

    @Test func jobKeysAreFlatDistinctAndStable() throws {
        #expect(ResultKey.forJob("tenant/../x", fileExtension: "pdf") == "tenant_2F.._2Fx.pdf")
        #expect(ResultKey.forJob("acme:42_a", fileExtension: "pdf") == "acme_3A42_5Fa.pdf")
        #expect(ResultKey.forJob(".hidden", fileExtension: "txt") == "_2Ehidden.txt")
        let long = String(repeating: ":", count: 128)
        let key = ResultKey.forJob(long, fileExtension: "docx")
        #expect(key.utf8.count <= ResultKey.maxSegmentBytes)
        #expect(key != ResultKey.forJob(String(repeating: ":", count: 127) + "@", fileExtension: "docx"))
        for id in [long, "a/b", "x:y@z", "plain-1.2"] {
            let k = ResultKey.forJob(id, fileExtension: "pdf")
            #expect(try ResultKey.sanitize(k) == k, "\(k)")
        }
    }
}

@Suite struct DirectoryResultStoreTests {
    @Test func streamsAFileAndRenamesItIntoPlace() async throws {
        let root = try temporaryDirectory()
        let store = try DirectoryResultStore(root: root)
        let bytes = patternBytes(3 * 1024 * 1024 + 17)
        let writer = try await store.makeWriter(key: "tenant/acme:42.pdf", contentType: "application/pdf")
        try await stream(bytes, into: writer, chunk: 100_000)
        // Not visible before finish.
        #expect(!FileManager.default.fileExists(atPath: root + "/tenant/acme%3A42.pdf"))
        let stored = try await writer.finish()
        #expect(stored.size == Int64(bytes.count))
        #expect(stored.sha256 == hexSHA256(bytes))
        #expect(stored.contentType == "application/pdf")
        #expect(stored.location == "file://" + root + "/tenant/acme%253A42.pdf")
        #expect(stored.location == (try store.location(forKey: "tenant/acme:42.pdf")))
        let written = try Data(contentsOf: URL(fileURLWithPath: root + "/tenant/acme%3A42.pdf"))
        #expect(Array(written) == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tenant") == ["acme%3A42.pdf"])
    }

    @Test func resetStartsOverAndReplacesTheOldFile() async throws {
        let root = try temporaryDirectory()
        let store = try DirectoryResultStore(root: root)
        let first = try await store.makeWriter(key: "j.txt", contentType: "text/plain")
        try await first.write(ByteBuffer(string: "old content that is long"))
        _ = try await first.finish()
        let second = try await store.makeWriter(key: "j.txt", contentType: "text/plain")
        try await second.write(ByteBuffer(string: "partial garbage"))
        try await second.reset()
        try await second.write(ByteBuffer(string: "new"))
        let stored = try await second.finish()
        #expect(stored.size == 3)
        #expect(stored.sha256 == hexSHA256(Array("new".utf8)))
        #expect(try String(contentsOfFile: root + "/j.txt", encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["j.txt"])
        await #expect(throws: ResultStoreError.self) { try await second.write(ByteBuffer(string: "late")) }
    }

    @Test func abortLeavesNothing() async throws {
        let root = try temporaryDirectory()
        let store = try DirectoryResultStore(root: root)
        let writer = try await store.makeWriter(key: "gone.pdf", contentType: "application/pdf")
        try await writer.write(ByteBuffer(bytes: patternBytes(1000)))
        await writer.abort()
        await writer.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
    }

    @Test func traversalStaysInsideTheRoot() async throws {
        let root = try temporaryDirectory()
        let store = try DirectoryResultStore(root: root + "/results")
        let writer = try await store.makeWriter(key: "../escape.txt", contentType: "text/plain")
        try await writer.write(ByteBuffer(string: "x"))
        let stored = try await writer.finish()
        #expect(stored.location.hasPrefix("file://" + root + "/results/"))
        #expect(!FileManager.default.fileExists(atPath: root + "/escape.txt"))
        await #expect(throws: ResultStoreError.self) { _ = try await store.makeWriter(key: "/etc/passwd", contentType: "x") }
        #expect(throws: ResultStoreError.self) { _ = try DirectoryResultStore(root: "relative/path") }
    }

    @Test func emptyFile() async throws {
        let store = try DirectoryResultStore(root: try temporaryDirectory())
        let writer = try await store.makeWriter(key: "empty.txt", contentType: "text/plain")
        let stored = try await writer.finish()
        #expect(stored.size == 0)
        #expect(stored.sha256 == hexSHA256([]))
    }
}

@Suite struct ResultStoreConfigurationTests {
    let env = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "TOPSECRETVALUE"]

    @Test func directory() throws {
        #expect(try ResultStoreConfiguration(url: "file:///var/lib/ocr/results", environment: [:]) == .directory(path: "/var/lib/ocr/results"))
        #expect(try ResultStoreConfiguration(url: "/srv/results", environment: [:]) == .directory(path: "/srv/results"))
        #expect(throws: ResultStoreError.self) { _ = try ResultStoreConfiguration(url: "file://host/x", environment: [:]) }
    }

    @Test func s3() throws {
        let config = try ResultStoreConfiguration(
            url: "s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=true", environment: env)
        guard case .s3(let s3) = config else {
            Issue.record("not s3")
            return
        }
        #expect(s3.bucket == "bucket")
        #expect(s3.prefix == "some/prefix")
        #expect(s3.endpoint.absoluteString == "http://127.0.0.1:9000")
        #expect(s3.region == "eu-west-1")
        #expect(s3.pathStyle)
        #expect(s3.credentials.secretAccessKey == "TOPSECRETVALUE")
        #expect(!config.description.contains("TOPSECRETVALUE"))
        let store = try makeResultStore(config)
        #expect(try store.location(forKey: "a:b.pdf") == "s3://bucket/some/prefix/a%3Ab.pdf")

        guard case .s3(let aws) = try ResultStoreConfiguration(url: "s3://b", environment: env) else { return }
        #expect(aws.endpoint.absoluteString == "https://s3.us-east-1.amazonaws.com")
        #expect(!aws.pathStyle)
    }

    @Test func s3Errors() {
        for url in [
            "s3://bucket", "s3://AKID:S3CR3TV4LUE@bucket/x", "s3://b?bogus=1", "s3://b?endpoint=ftp://x", "s3://b?part_size=10",
            "gs://bucket",
        ] {
            let environment = url == "s3://bucket" ? [:] : env
            do {
                _ = try ResultStoreConfiguration(url: url, environment: environment)
                Issue.record("accepted \(url)")
            } catch {
                #expect(!"\(error)".contains("S3CR3TV4LUE") && !"\(error)".contains("TOPSECRETVALUE"), "\(error)")
            }
        }
    }
}

/// Results are other people's documents: only the worker's user reads them, and a crash's
/// partial files do not pile up.
@Suite struct DirectoryResultStorePrivacyTests {
    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func filesAre0600AndDirectories0700() async throws {
        let root = try temporaryDirectory() + "/results"
        let store = try DirectoryResultStore(root: root)
        let writer = try await store.makeWriter(key: "tenant/job.pdf", contentType: "application/pdf")
        try await writer.write(ByteBuffer(string: "secret"))
        _ = try await writer.finish()
        #expect(try mode(root) == 0o700)
        #expect(try mode(root + "/tenant") == 0o700)
        #expect(try mode(root + "/tenant/job.pdf") == 0o600)
    }

    @Test func abandonedPartialFilesAreRemovedAndOnesBeingWrittenAreNot() async throws {
        let root = try temporaryDirectory()
        let store = try DirectoryResultStore(root: root)
        // A crash's file (no writer holds it), old enough, in a subdirectory.
        try FileManager.default.createDirectory(atPath: root + "/tenant", withIntermediateDirectories: true)
        let abandoned = root + "/tenant/.job.pdf.1a2b3c4d.partial"
        #expect(FileManager.default.createFile(atPath: abandoned, contents: Data("half".utf8)))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: abandoned)
        // A file being written now (another pod's, as far as the sweep knows), also old.
        let writer = try await store.makeWriter(key: "live.txt", contentType: "text/plain")
        try await writer.write(ByteBuffer(string: "in progress"))
        let live = try #require(try FileManager.default.contentsOfDirectory(atPath: root).first { $0.hasSuffix(".partial") })
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: root + "/" + live)
        // A young abandoned one: its writer may have only just created it.
        let young = root + "/.young.txt.5e6f7a8b.partial"
        #expect(FileManager.default.createFile(atPath: young, contents: Data()))

        #expect(DirectoryResultStore.removeAbandonedPartialFiles(under: root) == 1)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: root + "/" + live))
        #expect(FileManager.default.fileExists(atPath: young))
        let stored = try await writer.finish()
        #expect(stored.size == 11, "the live writer finished normally")
    }
}
