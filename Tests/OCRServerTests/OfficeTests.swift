import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Office inputs end to end: each format becomes a PDF through sandboxed LibreOffice,
/// then pages, then text. Needs soffice and bwrap (scripts/setup installs them).
@Suite(.serialized, .tags(.tesseract)) struct OfficeTests {
    static let expectedWords = ["Quarterly", "harbour", "Seventeen", "vessels"]

    /// The documents of every format, generated once (first read through ``offPool(_:)``:
    /// LibreOffice conversions block their thread for seconds): docx/xlsx/pptx by python-docx,
    /// openpyxl and python-pptx; doc/xls/ppt by LibreOffice from those.
    static let documents: Result<[String: URL], TestFailure> = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("office-docs-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var documents: [String: URL] = [:]
            for kind in ["docx", "xlsx", "pptx"] {
                let url = directory.appendingPathComponent("sample.\(kind)")
                _ = try runBlocking(Repo.python, [OfficeTests.script, kind, url.path])
                documents[kind] = url
            }
            for (legacy, from) in [("doc", "docx"), ("xls", "xlsx"), ("ppt", "pptx")] {
                _ = try runBlocking(
                    "/usr/bin/soffice",
                    [
                        "--headless", "--norestore", "-env:UserInstallation=file://\(directory.path)/profile-\(legacy)",
                        "--convert-to", legacy, "--outdir", directory.path, documents[from]!.path,
                    ], environment: ["HOME": directory.path])
                documents[legacy] = directory.appendingPathComponent("sample.\(legacy)")
            }
            return .success(documents)
        } catch {
            return .failure(TestFailure("could not generate the office documents: \(error)"))
        }
    }()

    static let script = Repo.root.appendingPathComponent("Tests/OCRServerTests/Resources/make_office.py").path

    @Test(arguments: ["docx", "xlsx", "pptx", "doc", "xls", "ppt"])
    func officeFormatGivesItsText(_ kind: String) async throws {
        let url = try #require(try await offPool { try OfficeTests.documents.get() }[kind])
        let data = try Data(contentsOf: url)
        try await withServer { _, api in
            let id = try await api.createTask([
                .file("image_file", "sample.\(kind)", data), .field("language", "English"), .field("format", "txt"),
            ])
            let result = try await api.waitTerminal(id, seconds: 600)
            #expect(result["state"] as? Int == 1, "\(kind): \(result)")
            let link = try #require(result["file"] as? String)
            let text = try await api.send(.GET, link, key: .some(nil)).text
            for word in Self.expectedWords {
                #expect(text.contains(word), "\(kind): '\(word)' missing from \(text)")
            }
        }
    }

    /// A docx whose picture is an external link to a port we listen on: LibreOffice fetches
    /// it when it runs unsandboxed (checked first, so the test can see a connection), and
    /// inside ocr-server's sandbox no connection arrives while the text still comes back.
    @Test func linkedContentNeverReachesTheNetwork() async throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("office-link-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let document = directory.appendingPathComponent("linked.docx")
        _ = try await run(Repo.python, [Self.script, "linked-docx", document.path, "http://127.0.0.1:\(listener.port)/picture.png"])

        // Control: without the sandbox, LibreOffice connects.
        _ = try await run(
            "/usr/bin/soffice",
            [
                "--headless", "--norestore", "-env:UserInstallation=file://\(directory.path)/profile",
                "--convert-to", "pdf", "--outdir", directory.path, document.path,
            ], environment: ["HOME": directory.path])
        #expect(listener.connections() > 0, "unsandboxed LibreOffice should have fetched the linked picture")
        let before = listener.connections()

        let data = try Data(contentsOf: document)
        try await withServer { _, api in
            let id = try await api.createTask([
                .file("image_file", "linked.docx", data), .field("language", "English"), .field("format", "txt"),
            ])
            let result = try await api.waitTerminal(id, seconds: 600)
            #expect(result["state"] as? Int == 1, "\(result)")
            let link = try #require(result["file"] as? String)
            let text = try await api.send(.GET, link, key: .some(nil)).text
            #expect(text.contains("Quarterly"), "\(text)")
        }
        // The conversion is over (the task is terminal); anything it sent has arrived.
        #expect(listener.connections() == before, "the sandboxed conversion connected to the network")
    }
}

/// Counts TCP connections to a loopback port, accepting them on a thread of its own.
final class LoopbackListener: Sendable {
    let port: Int
    private let fd: Int32
    private let count = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    init() throws {
        (fd, port) = try listeningLoopbackSocket()
        let thread = Thread { [self] in
            defer { finished.store(true, ordering: .relaxed) }
            while !stopped.load(ordering: .relaxed) {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) > 0 else { continue }
                let client = accept(fd, nil, nil)
                if client >= 0 {
                    count.add(1, ordering: .relaxed)
                    Glibc.close(client)
                }
            }
        }
        thread.start()
    }

    /// Connections accepted so far, after handling any that are pending now.
    func connections() -> Int {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // Wait until the accept thread has taken every pending connection.
        let deadline = ContinuousClock.now + .seconds(5)
        while poll(&poller, 1, 0) > 0, ContinuousClock.now < deadline { usleep(10_000) }
        return count.load(ordering: .relaxed)
    }

    func close() {
        stopped.store(true, ordering: .relaxed)
        while !finished.load(ordering: .relaxed) { usleep(10_000) }
        Glibc.close(fd)
    }
}
