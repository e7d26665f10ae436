import Foundation
import TestSupport
import Testing

@testable import OCRServer

#if canImport(Glibc)
    import Glibc
#endif

/// Per-key admission limits: one key cannot fill the queue or the upload slots for every
/// other key. Refusals are 429 with the PicWish envelope and a Retry-After.
@Suite(.tags(.tesseract)) struct PerKeyLimitTests {
    func retryAfter(_ reply: Reply) -> String? { reply.headers.first { $0.0.lowercased() == "retry-after" }?.1 }

    /// Tasks whose `image_url` never answers stay queued (state 0) until the server stops.
    @Test func pendingTasksPerKeyAreLimited() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let server = try await TestServer.start {
            $0.maxPendingTasksPerKey = 2
            $0.allowAnyPort = true
            $0.allowPrivateSources = true
        }
        do {
            let api = API(base: server.base)
            let source: [Part] = [.field("image_url", "http://127.0.0.1:\(listener.port)/never.png"), .field("language", "English")]
            for _ in 0..<2 { _ = try await api.createTask(source) }
            let refused = try await api.create(source)
            expectRejected(refused, 429, containing: "this API key")
            #expect(retryAfter(refused) != nil, "\(refused.headers)")
            // The limit is the key's: the other key still creates tasks.
            #expect(try await api.create(source, key: TestServer.otherKey).status == 200)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// An upload held open occupies the key's only upload slot: the key's next upload is
    /// refused while it lasts, another key's is not.
    @Test func concurrentUploadsPerKeyAreLimited() async throws {
        let server = try await TestServer.start { $0.maxUploadsPerKey = 1 }
        let held: HeldUpload
        do {
            held = try HeldUpload(port: server.port, key: TestServer.key)
        } catch {
            await server.stop()
            throw error
        }
        do {
            let api = API(base: server.base)
            let deadline = ContinuousClock.now + .seconds(20)
            var inProgress = 0
            while inProgress < 1, ContinuousClock.now < deadline {
                inProgress = try await api.send(.GET, "/stats", key: .some(nil)).json["uploads_in_progress"] as? Int ?? 0
                if inProgress < 1 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(inProgress == 1, "the held upload never showed in /stats")
            let clean = try Repo.sample("clean.png")
            let parts: [Part] = [.file("image_file", "clean.png", clean), .field("language", "English")]
            let refused = try await api.create(parts)
            expectRejected(refused, 429, containing: "uploads in progress")
            #expect(retryAfter(refused) != nil, "\(refused.headers)")
            #expect(try await api.create(parts, key: TestServer.otherKey).status == 200)
        } catch {
            held.close()
            await server.stop()
            throw error
        }
        held.close()
        await server.stop()
    }

    /// The counters behind admission follow tasks through reservation, creation and
    /// their end, without scanning the tasks.
    @Test func pendingCountersFollowTheTasks() async throws {
        let store = try await TaskStore(repository: InMemoryTaskRepository())
        #expect(try await store.reserve(owner: "k0", maxPending: 3, maxPendingPerOwner: 2) == nil)
        #expect(try await store.reserve(owner: "k0", maxPending: 3, maxPendingPerOwner: 2) == nil)
        #expect(try await store.reserve(owner: "k0", maxPending: 3, maxPendingPerOwner: 2) == .owner)
        #expect(try await store.reserve(owner: "k1", maxPending: 3, maxPendingPerOwner: 2) == nil)
        #expect(try await store.reserve(owner: "k1", maxPending: 3, maxPendingPerOwner: 2) == .server)
        store.cancelReservation(owner: "k1")
        try await store.insert(StoredTask(id: "a", owner: "k0", state: .queued, progress: 0, format: .txt, createdAt: Date()), reserved: true)
        #expect(store.pendingCount == 2)
        #expect(store.pendingCount(owner: "k0") == 2)
        try await store.update("a") { $0.state = .processing }
        #expect(store.pendingCount(owner: "k0") == 2, "running is still pending")
        try await store.update("a") { $0.state = .success }
        #expect(store.pendingCount(owner: "k0") == 1)
        store.cancelReservation(owner: "k0")
        #expect(store.pendingCount == 0)
        #expect(store.pendingCount(owner: "k0") == 0)
    }
}

/// A loopback port that takes connections into its backlog and never answers.
final class SilentListener: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        (fd, port) = try listeningLoopbackSocket()
    }

    func close() { Glibc.close(fd) }
}

/// A create request whose multipart body starts and then stalls: the server counts it as
/// an upload in progress until the connection closes.
final class HeldUpload: Sendable {
    private let fd: Int32

    init(port: Int, key: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw TestFailure("connect failed")
        }
        let boundary = "heldboundary"
        let preamble = "--\(boundary)\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"slow.png\"\r\n\r\n"
        let text =
            "POST /api/tasks/document/ocr HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nX-API-KEY: \(key)\r\n"
            + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: 1000000\r\n\r\n" + preamble
            + String(repeating: "x", count: 1000)
        let data = Array(text.utf8)
        var offset = 0
        while offset < data.count {
            let sent = data[offset...].withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else {
                Glibc.close(fd)
                throw TestFailure("send failed")
            }
            offset += sent
        }
        self.fd = fd
    }

    func close() { Glibc.close(fd) }
}
