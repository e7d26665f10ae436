import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import OCRServer
import ServiceLifecycle
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Paths of the repository and its samples.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let samples = root.appendingPathComponent("samples")
    static let python = root.appendingPathComponent(".tools/venv/bin/python").path
    static func sample(_ name: String) throws -> Data { try Data(contentsOf: samples.appendingPathComponent(name)) }
    static func truth(_ name: String) throws -> String {
        try String(contentsOf: samples.appendingPathComponent(name + ".txt"), encoding: .utf8)
    }
}

/// An ocr-server running in this process on 127.0.0.1 and a free port.
final class TestServer: Sendable {
    static let key = "test-key-1"
    static let otherKey = "test-key-2"

    let port: Int
    let dataDirectory: URL
    private let group: ServiceGroup
    private let runner: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, dataDirectory: URL, group: ServiceGroup, runner: Task<Void, any Error>) {
        self.port = port
        self.dataDirectory = dataDirectory
        self.group = group
        self.runner = runner
    }

    /// The tests' defaults: both keys, two engines, a fresh data directory, a quick sweep
    /// and drain.
    static func configuration() -> ServerConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-server-test-\(UUID().uuidString)")
        return ServerConfiguration(
            host: "127.0.0.1", port: 0, apiKeys: [key, otherKey], dataDirectory: directory, workers: 2,
            processingTimeout: 300, sweepInterval: 0.5, drainTimeout: 1)
    }

    /// Errors only, unless `OCR_TEST_LOG` is set.
    static var logger: Logger {
        var logger = Logger(label: "ocr-server-test")
        logger.logLevel = ProcessInfo.processInfo.environment["OCR_TEST_LOG"] == nil ? .error : .debug
        return logger
    }

    static func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        var configuration = configuration()
        configure(&configuration)
        let directory = configuration.dataDirectory
        let logger = logger
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try await OCRServer.makeApplication(configuration: configuration, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let runner = Task { try await group.run() }
        let port = try await withDeadline(.seconds(30), "server start") {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("server did not start") }
            return port
        }
        return TestServer(port: port, dataDirectory: directory, group: group, runner: runner)
    }

    /// Stops the server as SIGTERM does (it drains), then removes its data directory
    /// unless `keepingData`.
    func stop(keepingData: Bool = false) async {
        await group.triggerGracefulShutdown()
        _ = try? await runner.value
        if !keepingData { try? FileManager.default.removeItem(at: dataDirectory) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A multipart part.
struct Part: Sendable {
    var name: String
    var filename: String?
    var data: Data

    static func field(_ name: String, _ value: String) -> Part { Part(name: name, filename: nil, data: Data(value.utf8)) }
    static func file(_ name: String, _ filename: String, _ data: Data) -> Part { Part(name: name, filename: filename, data: data) }
}

struct Reply: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    var message: String { json["message"] as? String ?? "" }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A small API client for the tests (independent of OCRClient, so the server is checked
/// against the wire shape, not against our own decoder): over HTTP to a live server, or
/// straight into the router of one without a socket (HummingbirdTesting's `.router`).
struct API: Sendable {
    enum Transport: Sendable {
        case http(base: String)
        case router(any TestClientProtocol)
    }

    let transport: Transport
    var key: String? = TestServer.key
    let client = HTTPClient.shared

    init(base: String, key: String? = TestServer.key) {
        transport = .http(base: base)
        self.key = key
    }

    init(router: any TestClientProtocol, key: String? = TestServer.key) {
        transport = .router(router)
        self.key = key
    }

    /// What links start with: the live server's address, or the router's `localhost`.
    var base: String {
        switch transport {
        case .http(let base): base
        case .router: "http://localhost"
        }
    }

    static func multipart(_ parts: [Part]) -> (contentType: String, body: Data) {
        let boundary = "----ocrtest\(UUID().uuidString)"
        var body = Data()
        for part in parts {
            body.append(Data("--\(boundary)\r\n".utf8))
            if let filename = part.filename {
                body.append(Data("Content-Disposition: form-data; name=\"\(part.name)\"; filename=\"\(filename)\"\r\n".utf8))
                body.append(Data("Content-Type: application/octet-stream\r\n\r\n".utf8))
            } else {
                body.append(Data("Content-Disposition: form-data; name=\"\(part.name)\"\r\n\r\n".utf8))
            }
            body.append(part.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    func send(
        _ method: HTTPMethod, _ pathOrURL: String, body: Data? = nil, contentType: String? = nil, key: String?? = nil,
        headers extra: [(String, String)] = []
    ) async throws -> Reply {
        var headers = extra
        if let key = key ?? self.key { headers.append(("X-API-KEY", key)) }
        if let contentType { headers.append(("Content-Type", contentType)) }
        switch transport {
        case .http(let base):
            var request = HTTPClientRequest(url: pathOrURL.hasPrefix("http") ? pathOrURL : base + pathOrURL)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await client.execute(request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
            return Reply(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: Data(buffer: bytes))
        case .router(let client):
            // A link names the router's host: keep its path and query.
            var uri = pathOrURL
            if let url = URLComponents(string: pathOrURL), url.scheme != nil {
                uri = url.percentEncodedPath + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
            }
            var fields = HTTPFields()
            for (name, value) in headers {
                guard let field = HTTPFields.Element.Name(name) else { throw TestFailure("bad header name \(name)") }
                fields.append(.init(name: field, value: value))
            }
            let response = try await client.executeRequest(
                uri: uri, method: HTTPRequest.Method(method.rawValue) ?? .get, headers: fields,
                body: body.map { ByteBuffer(bytes: $0) })
            return Reply(
                status: Int(response.status.code), headers: response.headers.map { ($0.name.rawName, $0.value) },
                body: Data(buffer: response.body))
        }
    }

    func create(_ parts: [Part], key: String?? = nil) async throws -> Reply {
        let (type, body) = Self.multipart(parts)
        return try await send(.POST, "/api/tasks/document/ocr", body: body, contentType: type, key: key)
    }

    func query(_ id: String, key: String?? = nil) async throws -> Reply {
        try await send(.GET, "/api/tasks/document/ocr/\(id)", key: key)
    }

    /// Creates a task and returns its id, requiring success.
    func createTask(_ parts: [Part]) async throws -> String {
        let reply = try await create(parts)
        #expect(reply.status == 200, "create: \(reply.text)")
        guard let id = reply.data["task_id"] as? String else { throw TestFailure("no task_id in \(reply.text)") }
        return id
    }

    /// Polls until the task is terminal (state 1 or negative), within a deadline.
    func waitTerminal(_ id: String, seconds: Double = 300) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var lastProgress = -1
        while ContinuousClock.now < deadline {
            let reply = try await query(id)
            guard reply.status == 200 else { throw TestFailure("query \(id): \(reply.text)") }
            let state = reply.data["state"] as? Int ?? 0
            let progress = reply.data["progress"] as? Int ?? 0
            #expect(progress >= lastProgress, "progress never goes back")
            lastProgress = progress
            if state == 1 || state < 0 { return reply.data }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("task \(id) not finished within \(seconds) s")
    }
}

/// Runs a program and returns its standard output; fails on a non-zero exit. The wait
/// happens on a thread of its own: blocking one of the cooperative pool's threads (two on
/// a 2-core machine) for a LibreOffice conversion stalls every other test's tasks.
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> String {
    try await offPool { try runBlocking(executable, arguments, environment: environment) }
}

/// Runs blocking work on a thread of its own, never on the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// ``run(_:_:environment:)`` on the calling thread: only for code that is itself off
/// the pool (see ``offPool(_:)``).
func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TestFailure("\(executable) \(arguments.first ?? "") exited \(process.terminationStatus): \(String(decoding: errorData, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}

/// A raw TCP exchange: sends `chunks` one by one (stopping early if the server answers),
/// then reads the reply. For the 413-while-uploading test, where no HTTP client would
/// keep sending a body after an early answer.
func rawExchange(port: Int, head: String, chunks: [Data], readTimeout: Double = 20) throws -> (reply: String, sentChunks: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestFailure("connect failed") }
    var timeout = timeval(tv_sec: Int(readTimeout), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    func sendAll(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 { return false }
                offset += sent
            }
            return true
        }
    }
    guard sendAll(Data(head.utf8)) else { throw TestFailure("could not send the head") }
    var sent = 0
    var reply = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    for chunk in chunks {
        // Stop as soon as the server has answered.
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&poller, 1, 0) > 0 { break }
        guard sendAll(chunk) else { break }
        sent += 1
    }
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        reply.append(contentsOf: buffer[0..<count])
        if let text = String(data: reply, encoding: .utf8), text.contains("\r\n\r\n"), text.contains("}") { break }
    }
    return (String(decoding: reply, as: UTF8.self), sent)
}

/// A TCP socket listening on 127.0.0.1 at a port the kernel picked (backlog 16): the
/// descriptor, which the caller closes, and the port.
func listeningLoopbackSocket() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 16) == 0 else {
        Glibc.close(fd)
        throw TestFailure("bind/listen failed")
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
