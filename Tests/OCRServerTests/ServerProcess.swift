import AsyncHTTPClient
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real `ocr-server` executable (from `OCR_TEST_BIN_DIR`, else beside the test bundle)
/// on 127.0.0.1, with its output in a log file beside the data directory: for tests of
/// what only a process shows (a restart, SIGTERM, the exit status).
final class ServerProcess: Sendable {
    let port: Int
    let dataDirectory: URL
    let logFile: URL
    private let pid: Int32
    /// The exit status, delivered once by the termination handler.
    private let exits: AsyncStream<Int32>
    /// Set by the termination handler: a process still running when the test lets go of
    /// it (a failed test) is killed then, so no server outlives its test.
    private let exited: ExitFlag

    private final class ExitFlag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    var base: String { "http://127.0.0.1:\(port)" }

    static var executable: URL {
        let directory =
            ProcessInfo.processInfo.environment["OCR_TEST_BIN_DIR"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        return URL(fileURLWithPath: directory).appendingPathComponent("ocr-server")
    }

    private init(port: Int, dataDirectory: URL, logFile: URL, pid: Int32, exits: AsyncStream<Int32>, exited: ExitFlag) {
        self.port = port
        self.dataDirectory = dataDirectory
        self.logFile = logFile
        self.pid = pid
        self.exits = exits
        self.exited = exited
    }

    deinit {
        if !exited.isSet { kill(pid, SIGKILL) }
    }

    /// Starts the server and waits (up to 90 s) until `/readyz` answers 200. `launcher`
    /// goes before the executable (`setpriv --reuid ...`); `environment` is added to the
    /// test's own.
    static func start(
        dataDirectory: URL, port: Int, extraArguments: [String] = [], launcher: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> ServerProcess {
        let logFile = dataDirectory.deletingLastPathComponent().appendingPathComponent(
            dataDirectory.lastPathComponent + ".log")
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: logFile)
        handle.seekToEndOfFile()
        let process = Process()
        let arguments =
            [
                "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", dataDirectory.path, "--api-key", TestServer.key,
            ] + extraArguments
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(["OCR_SERVER_LOG_LEVEL": "info"]) { _, new in new }
            .merging(environment) { _, new in new }
        process.standardOutput = handle
        process.standardError = handle
        let (exits, continuation) = AsyncStream.makeStream(of: Int32.self)
        let exited = ExitFlag()
        process.terminationHandler = { finished in
            exited.set()
            continuation.yield(finished.terminationStatus)
            continuation.finish()
            try? handle.close()
        }
        try process.run()
        let server = ServerProcess(
            port: port, dataDirectory: dataDirectory, logFile: logFile, pid: process.processIdentifier, exits: exits,
            exited: exited)
        do {
            try await server.waitUntil(seconds: 90, "ocr-server ready") { try await server.get("/readyz").status == 200 }
        } catch {
            server.signal(SIGKILL)
            throw TestFailure("\(error)\n\(server.logTail())")
        }
        return server
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// The exit status, waiting up to `seconds` (then SIGKILL and a failure).
    func waitForExit(seconds: Double) async throws -> Int32 {
        let exits = exits
        do {
            return try await withDeadline(.milliseconds(Int64(seconds * 1000)), "ocr-server exit") {
                var iterator = exits.makeAsyncIterator()
                guard let status = await iterator.next() else { throw TestFailure("no exit status") }
                return status
            }
        } catch {
            signal(SIGKILL)
            throw TestFailure("\(error)\n\(logTail())")
        }
    }

    /// A GET without a key; throws when the connection fails.
    func get(_ path: String) async throws -> Reply {
        try await API(base: base, key: nil).send(.GET, path, key: .some(nil))
    }

    /// Polls `condition` (errors count as not yet) every 100 ms until it holds, within
    /// `seconds`; fails at once when the process has exited.
    func waitUntil(seconds: Double, _ what: String, _ condition: @escaping @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if exited.isSet { throw TestFailure("\(what): ocr-server exited") }
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("\(what): not within \(seconds) s")
    }

    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
