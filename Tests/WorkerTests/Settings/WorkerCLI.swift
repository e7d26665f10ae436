import Foundation
import Testing

/// Runs the built `ocr-worker` executable (next to the test bundle, or in
/// `OCR_TEST_BIN_DIR`) with exactly the environment given: the test process's `OCR_*`
/// variables never leak in. WorkerCLITests run `ocr-worker check` with a value that
/// fails validation, so it prints the effective configuration and stops before it opens
/// any connection: no broker, ledger or provider is needed.
struct WorkerCLI {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    let executable: String

    init() throws {
        let env = ProcessInfo.processInfo.environment
        let directory = env["OCR_TEST_BIN_DIR"] ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        executable = URL(fileURLWithPath: directory).appendingPathComponent("ocr-worker").path
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build ocr-worker first (swift build --build-tests)")
    }

    /// Runs `ocr-worker arguments` under coreutils' `timeout`: should validation ever let
    /// the command through, `check` or `run` would start connecting and never end, so it
    /// is stopped after a minute (killed 10 s later if it drains on SIGTERM) and the test
    /// fails instead of hanging. The process runs on a dispatch thread, not blocking the
    /// test's cooperative threads.
    func run(_ arguments: [String], environment: [String: String]) async throws -> Outcome {
        var full = environment
        for name in ["PATH", "LD_LIBRARY_PATH", "HOME"] { full[name] = ProcessInfo.processInfo.environment[name] }
        let command = ["--kill-after=10", "60", executable] + arguments
        let finalEnvironment = full
        let outcome = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
                process.arguments = command
                process.environment = finalEnvironment
                let out = Pipe()
                let err = Pipe()
                process.standardOutput = out
                process.standardError = err
                do { try process.run() } catch {
                    continuation.resume(throwing: error)
                    return
                }
                // Both outputs are a few lines: reading one to its end cannot block the other.
                let stdout = out.fileHandleForReading.readDataToEndOfFile()
                let stderr = err.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(
                    returning: Outcome(
                        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                        stderr: String(decoding: stderr, as: UTF8.self)))
            }
        }
        // 124: timeout(1) stopped it.
        if outcome.status == 124 { Issue.record("ocr-worker \(arguments.joined(separator: " ")) did not stop within a minute") }
        return outcome
    }

    /// A configuration file with `lines`, removed when the test process ends (they are tiny).
    static func file(_ lines: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-settings-\(UUID().uuidString).env").path
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
