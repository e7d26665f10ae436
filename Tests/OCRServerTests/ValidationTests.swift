import Foundation
import HummingbirdTesting
import TestSupport
import Testing

@testable import OCRServer

/// Runs `body` against a fresh in-process server listening on a loopback port, stopping
/// it afterwards: for what needs a socket (a raw exchange, the peer's address, a source
/// served by the server itself).
func withServer(
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (TestServer, API) async throws -> Void
) async throws {
    let server = try await TestServer.start(configure)
    do {
        try await body(server, API(base: server.base))
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// Runs `body` against a fresh in-process server without a socket: requests go straight
/// into its router (HummingbirdTesting's `.router`); its processing runs as it does in
/// production. `body` gets the client and the data directory.
func withRouterServer(
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (API, URL) async throws -> Void
) async throws {
    var configuration = TestServer.configuration()
    configure(&configuration)
    let directory = configuration.dataDirectory
    defer { try? FileManager.default.removeItem(at: directory) }
    let app = try await OCRServer.makeApplication(configuration: configuration, logger: TestServer.logger)
    try await app.test(.router) { client in try await body(API(router: client), directory) }
}

func expectRejected(_ reply: Reply, _ status: Int, containing fragment: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.json["status"] as? Int == status, "envelope status: \(reply.text)", sourceLocation: sourceLocation)
    if let fragment {
        #expect(reply.message.contains(fragment), "\(reply.message) should mention \(fragment)", sourceLocation: sourceLocation)
    }
}

@Suite(.tags(.tesseract)) struct ValidationTests {
    let clean: Data
    init() throws { clean = try Repo.sample("clean.png") }

    @Test func missingSourceIs400() async throws {
        try await withRouterServer { api, _ in
            expectRejected(try await api.create([.field("format", "txt")]), 400, containing: "image_url")
        }
    }

    @Test func bothSourcesAre400() async throws {
        try await withRouterServer { api, _ in
            let reply = try await api.create([
                .field("image_url", "https://example.com/a.png"), .file("image_file", "a.png", clean),
            ])
            expectRejected(reply, 400, containing: "exactly one")
        }
    }

    @Test func imageFileAndFileAliasTogetherAre400() async throws {
        try await withRouterServer { api, _ in
            let reply = try await api.create([.file("image_file", "a.png", clean), .file("file", "b.png", clean)])
            expectRejected(reply, 400)
        }
    }

    @Test func fileAliasIsAccepted() async throws {
        try await withRouterServer { api, _ in
            let id = try await api.createTask([.file("file", "clean.png", clean), .field("language", "English")])
            let data = try await api.waitTerminal(id)
            #expect(data["state"] as? Int == 1, "\(data)")
        }
    }

    @Test func formatMustBeKnownAndLowercase() async throws {
        try await withRouterServer { api, _ in
            for format in ["doc", "PDF", "html"] {
                let reply = try await api.create([.file("image_file", "a.png", clean), .field("format", format)])
                expectRejected(reply, 400, containing: "format")
            }
        }
    }

    @Test func languageNamesAreCaseSensitiveAndFromTheTable() async throws {
        try await withRouterServer { api, _ in
            for language in ["english", "Klingon", "English,english "] {
                let reply = try await api.create([.file("image_file", "a.png", clean), .field("language", language)])
                expectRejected(reply, 400, containing: "language")
            }
        }
    }

    @Test func atMostTenLanguages() async throws {
        try await withRouterServer { api, _ in
            let eleven = ["English", "ChinesePRC", "Digits", "French", "German", "Spanish", "Italian", "Russian", "Dutch", "Polish", "Czech"]
            let reply = try await api.create([.file("image_file", "a.png", clean), .field("language", eleven.joined(separator: ","))])
            expectRejected(reply, 400, containing: "at most 10")
        }
    }

    @Test func languageWithoutInstalledDataIs400() async throws {
        try await withRouterServer { api, _ in
            let reply = try await api.create([.file("image_file", "a.png", clean), .field("language", "French")])
            expectRejected(reply, 400, containing: "tesseract-ocr-fra")
        }
    }

    @Test func passwordOver32CharactersIs400() async throws {
        try await withRouterServer { api, _ in
            let reply = try await api.create([
                .file("image_file", "a.pdf", clean), .field("password", String(repeating: "p", count: 33)),
            ])
            expectRejected(reply, 400, containing: "password")
        }
    }

    @Test func imageURLOnlyOnPorts80And443() async throws {
        try await withRouterServer { api, _ in
            let reply = try await api.create([.field("image_url", "http://example.com:8080/a.png")])
            expectRejected(reply, 400, containing: "port 8080")
            let scheme = try await api.create([.field("image_url", "ftp://example.com/a.png")])
            expectRejected(scheme, 400, containing: "scheme")
        }
    }

    @Test func emptyUploadIs400() async throws {
        try await withRouterServer { api, _ in
            expectRejected(try await api.create([.file("image_file", "a.png", Data())]), 400, containing: "empty")
        }
    }

    @Test func missingOrWrongKeyIs401() async throws {
        try await withRouterServer { api, _ in
            expectRejected(try await api.create([.file("image_file", "a.png", clean)], key: .some(nil)), 401)
            expectRejected(try await api.create([.file("image_file", "a.png", clean)], key: "wrong-key"), 401)
            expectRejected(try await api.query("anything", key: "test-key-"), 401)
        }
    }

    @Test func unknownTaskAndAnotherKeysTaskAre404() async throws {
        try await withRouterServer { api, _ in
            expectRejected(try await api.query("no-such-task"), 404)
            let id = try await api.createTask([.file("image_file", "a.png", clean), .field("language", "English")])
            expectRejected(try await api.query(id, key: TestServer.otherKey), 404)
            #expect(try await api.query(id).status == 200)
        }
    }

    @Test func declaredBodyOverTheLimitIs413() async throws {
        try await withRouterServer({ $0.maxDocumentBytes = 1024 * 1024 }) { api, _ in
            let big = Data(repeating: 0x41, count: 3 * 1024 * 1024)
            let reply = try await api.create([.file("image_file", "big.png", big)])
            expectRejected(reply, 413, containing: "too large")
        }
    }

    /// The body is streamed with chunked encoding (no Content-Length) and never finished:
    /// the 413 must come while the client is still sending.
    @Test func uploadOverTheLimitIs413WhileStreaming() async throws {
        try await withServer({ $0.maxDocumentBytes = 1024 * 1024 }) { server, _ in
            let boundary = "streamingboundary"
            let head =
                "POST /api/tasks/document/ocr HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nX-API-KEY: \(TestServer.key)\r\n"
                + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nTransfer-Encoding: chunked\r\n\r\n"
            func chunk(_ data: Data) -> Data {
                Data(String(data.count, radix: 16).utf8) + Data("\r\n".utf8) + data + Data("\r\n".utf8)
            }
            let preamble = chunk(
                Data(
                    "--\(boundary)\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"big.bin\"\r\n\r\n".utf8))
            let block = chunk(Data(repeating: 0x42, count: 64 * 1024))
            // 64 MB offered; the limit is 1 MB.
            let chunks = [preamble] + Array(repeating: block, count: 1024)
            let port = server.port
            let (reply, sent) = try await withDeadline(.seconds(60), "413 while streaming") {
                try rawExchange(port: port, head: head, chunks: chunks)
            }
            #expect(reply.hasPrefix("HTTP/1.1 413"), "\(reply.prefix(300))")
            #expect(reply.contains("\"status\":413"))
            #expect(sent < chunks.count, "the server answered before the upload finished (\(sent) of \(chunks.count) chunks sent)")
        }
    }

    @Test func overTheRateLimitIs429() async throws {
        try await withRouterServer({ $0.requestsPerSecond = 1 }) { api, _ in
            var statuses: [Int] = []
            var retryAfter: String?
            for _ in 0..<4 {
                let reply = try await api.query("some-task")
                statuses.append(reply.status)
                if reply.status == 429 { retryAfter = reply.headers.first { $0.0.lowercased() == "retry-after" }?.1 }
            }
            #expect(statuses.contains(429), "\(statuses)")
            #expect(retryAfter != nil)
            // Limits are per key: the other key is not throttled.
            #expect(try await api.query("some-task", key: TestServer.otherKey).status == 404)
        }
    }

    @Test func healthAndStats() async throws {
        try await withRouterServer { api, _ in
            #expect(try await api.send(.GET, "/healthz", key: .some(nil)).status == 200)
            let before = try await api.send(.GET, "/stats", key: .some(nil)).json["tasks_created"] as? Int
            _ = try await api.createTask([.file("image_file", "a.png", clean), .field("language", "English")])
            let after = try await api.send(.GET, "/stats", key: .some(nil)).json["tasks_created"] as? Int
            #expect(before == 0)
            #expect(after == 1)
        }
    }
}

@Suite(.tags(.tesseract)) struct TaskFailureTests {
    let clean: Data
    init() throws { clean = try Repo.sample("clean.png") }

    @Test func notADocumentFailsWithMinus7() async throws {
        try await withRouterServer { api, _ in
            let id = try await api.createTask([.file("image_file", "x.png", Data("definitely not an image".utf8))])
            let data = try await api.waitTerminal(id)
            #expect(data["state"] as? Int == -7, "\(data)")
            #expect(data["file"] == nil)
        }
    }

    @Test func officeFileWithoutLibreOfficeFailsWithMinus7() async throws {
        try await withRouterServer { api, _ in
            let fakeDocx = Data([0x50, 0x4B, 0x03, 0x04]) + Data("....word/document.xml....".utf8)
            let id = try await api.createTask([.file("image_file", "report.docx", fakeDocx)])
            let data = try await api.waitTerminal(id)
            #expect(data["state"] as? Int == -7, "\(data)")
            if !FileManager.default.isExecutableFile(atPath: "/usr/bin/soffice") {
                #expect((data["state_detail"] as? String ?? "").contains("LibreOffice"), "\(data)")
            }
        }
    }

    @Test func wrongOrMissingPasswordFailsWithMinus7() async throws {
        let protected = try Repo.sample("protected.pdf")
        try await withRouterServer { api, _ in
            let wrong = try await api.createTask([.file("image_file", "p.pdf", protected), .field("password", "nope")])
            let missing = try await api.createTask([.file("image_file", "p.pdf", protected)])
            let wrongData = try await api.waitTerminal(wrong)
            let missingData = try await api.waitTerminal(missing)
            #expect(wrongData["state"] as? Int == -7)
            #expect((wrongData["state_detail"] as? String ?? "").contains("password is wrong"))
            #expect(missingData["state"] as? Int == -7)
            #expect((missingData["state_detail"] as? String ?? "").contains("no password"))
        }
    }

    @Test func imageOverTheSideLimitFailsWithMinus5() async throws {
        try await withRouterServer({ $0.maxImageSide = 1000 }) { api, _ in
            let id = try await api.createTask([.file("image_file", "clean.png", clean), .field("language", "English")])
            let data = try await api.waitTerminal(id)
            #expect(data["state"] as? Int == -5, "\(data)")
        }
    }

    @Test func processingTimeoutFailsWithMinus8() async throws {
        try await withRouterServer({ $0.processingTimeout = 0.001 }) { api, _ in
            let id = try await api.createTask([.file("image_file", "clean.png", clean), .field("language", "English")])
            let data = try await api.waitTerminal(id)
            #expect(data["state"] as? Int == -8, "\(data)")
        }
    }

    /// The source is a result link of the same server: a loopback address.
    @Test func loopbackImageURLIsRefusedUnlessAllowed() async throws {
        try await withServer({ $0.allowAnyPort = true }) { _, api in
            let first = try await api.createTask([.file("image_file", "clean.png", clean), .field("format", "pdf"), .field("language", "English")])
            let link = try await api.waitTerminal(first)["file"] as? String ?? ""
            let id = try await api.createTask([.field("image_url", link), .field("language", "English")])
            let data = try await api.waitTerminal(id)
            #expect(data["state"] as? Int == -3, "\(data)")
            #expect((data["state_detail"] as? String ?? "").contains("loopback"), "\(data)")
            #expect(!(data["state_detail"] as? String ?? "").contains("signature="), "the detail never shows the link's query")
        }
        try await withServer({
            $0.allowAnyPort = true
            $0.allowPrivateSources = true
        }) { _, api in
            let first = try await api.createTask([.file("image_file", "clean.png", clean), .field("format", "pdf"), .field("language", "English")])
            let link = try await api.waitTerminal(first)["file"] as? String ?? ""
            let id = try await api.createTask([.field("image_url", link), .field("language", "English")])
            let data = try await api.waitTerminal(id)
            #expect(data["state"] as? Int == 1, "\(data)")
            let text = try await api.send(.GET, data["file"] as? String ?? "", key: .some(nil)).text
            #expect(CharacterErrorRate.of(text, against: try Repo.truth("clean")) <= 0.02, "\(text)")
        }
    }

    @Test func privateAndLinkLocalLiteralsAreRefused() async throws {
        try await withRouterServer({ $0.downloadTimeout = 5 }) { api, _ in
            for url in ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/a.png", "http://[::1]/a.png"] {
                let id = try await api.createTask([.field("image_url", url)])
                let data = try await api.waitTerminal(id)
                #expect(data["state"] as? Int == -3, "\(url): \(data)")
                #expect((data["state_detail"] as? String ?? "").contains("disabled"), "\(url): \(data)")
            }
        }
    }

    @Test func forgedLinksAre403() async throws {
        try await withRouterServer { api, _ in
            let id = try await api.createTask([.file("image_file", "clean.png", clean), .field("language", "English")])
            let link = try await api.waitTerminal(id)["file"] as? String ?? ""
            #expect(try await api.send(.GET, link, key: .some(nil)).status == 200)
            guard var components = URLComponents(string: link) else { throw TestFailure("bad link \(link)") }
            let items = components.queryItems ?? []
            let expires = items.first { $0.name == "expires" }?.value ?? ""
            let signature = items.first { $0.name == "signature" }?.value ?? ""
            // The first character carries six bits of the MAC; the last may carry only
            // padding bits, so changing it can leave the signature valid.
            let flipped = (signature.first == "A" ? "B" : "A") + String(signature.dropFirst())
            let variants: [[URLQueryItem]] = [
                [URLQueryItem(name: "expires", value: expires), URLQueryItem(name: "signature", value: flipped)],
                [URLQueryItem(name: "expires", value: String((Int(expires) ?? 0) + 86400)), URLQueryItem(name: "signature", value: signature)],
                [URLQueryItem(name: "expires", value: expires)],
            ]
            for query in variants {
                components.queryItems = query
                let reply = try await api.send(.GET, components.string ?? "", key: .some(nil))
                expectRejected(reply, 403, containing: "signature")
            }
            // Another task's name under a valid signature.
            let other = link.replacingOccurrences(of: id, with: "00000000-0000-0000-0000-000000000000")
            expectRejected(try await api.send(.GET, other, key: .some(nil)), 403)
        }
    }

    /// With a 2 s lifetime the link answers 403 once expired, and the sweeper then removes
    /// the record (404) and the file.
    @Test func expiredLinkIs403AndTheSweeperRemovesTheTask() async throws {
        try await withRouterServer({
            $0.resultLifetime = 2
            $0.sweepInterval = 0.2
        }) { api, dataDirectory in
            let id = try await api.createTask([.file("image_file", "clean.png", clean), .field("language", "English")])
            let link = try await api.waitTerminal(id)["file"] as? String ?? ""
            let deadline = ContinuousClock.now + .seconds(20)
            var last = try await api.send(.GET, link, key: .some(nil))
            while last.status != 403, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                last = try await api.send(.GET, link, key: .some(nil))
            }
            expectRejected(last, 403, containing: "expired")
            var gone = try await api.query(id)
            while gone.status != 404, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                gone = try await api.query(id)
            }
            #expect(gone.status == 404)
            let results = dataDirectory.appendingPathComponent("results").path
            #expect((try FileManager.default.contentsOfDirectory(atPath: results)).isEmpty)
        }
    }
}

@Suite(.tags(.tesseract)) struct QueueingTests {
    /// With one engine, tasks created while it is busy report state 0 until their turn.
    @Test func tasksQueueWhileThePoolIsFull() async throws {
        let clean = try Repo.sample("clean.png")
        try await withRouterServer({ $0.workers = 1 }) { api, _ in
            var ids: [String] = []
            for _ in 0..<3 {
                ids.append(try await api.createTask([.file("image_file", "clean.png", clean), .field("language", "English")]))
            }
            let last = try await api.query(ids[2])
            #expect(last.data["state"] as? Int == 0, "\(last.text)")
            for id in ids {
                #expect(try await api.waitTerminal(id)["state"] as? Int == 1)
            }
        }
    }
}

@Suite(.tags(.tesseract)) struct DataDirectoryTests {
    /// Uploads and results are other people's documents: the data directory and its
    /// folders are 0700, result files 0600, whatever the umask.
    @Test func dataDirectoryIsPrivate() async throws {
        let clean = try Repo.sample("clean.png")
        let previous = umask(0o022)
        defer { umask(previous) }
        try await withRouterServer { api, dataDirectory in
            let id = try await api.createTask([.file("image_file", "clean.png", clean), .field("language", "English")])
            #expect(try await api.waitTerminal(id)["state"] as? Int == 1)
            func mode(_ url: URL) throws -> Int {
                try (FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
            }
            let results = dataDirectory.appendingPathComponent("results")
            #expect(try mode(dataDirectory) == 0o700)
            #expect(try mode(dataDirectory.appendingPathComponent("tasks")) == 0o700)
            #expect(try mode(results) == 0o700)
            let files = try FileManager.default.contentsOfDirectory(atPath: results.path)
            #expect(!files.isEmpty)
            for name in files {
                #expect(try mode(results.appendingPathComponent(name)) == 0o600, "\(name)")
            }
        }
    }
}

@Suite(.tags(.tesseract)) struct StartupKeyTests {
    /// No configured key on an address other machines reach: refuse, unless told otherwise.
    @Test func noKeysOnAPublicAddressRefusesToStart() {
        guard case .refuse = StartupKeys.decide(keys: [], host: "0.0.0.0", allowInsecure: false) else {
            Issue.record("0.0.0.0 without keys must refuse")
            return
        }
        guard case .refuse = StartupKeys.decide(keys: [], host: "10.1.2.3", allowInsecure: false) else {
            Issue.record("a private address without keys must refuse")
            return
        }
        #expect(StartupKeys.decide(keys: [], host: "0.0.0.0", allowInsecure: true) == .insecureDevelopmentKey)
        #expect(StartupKeys.decide(keys: [], host: "127.0.0.1", allowInsecure: false) == .developmentKey)
        #expect(StartupKeys.decide(keys: [], host: "::1", allowInsecure: false) == .developmentKey)
        #expect(StartupKeys.decide(keys: [], host: "localhost", allowInsecure: false) == .developmentKey)
        #expect(StartupKeys.decide(keys: ["k"], host: "0.0.0.0", allowInsecure: false) == .configured(["k"]))
    }
}
