import Foundation
import Testing

/// Runs the built `ocr-worker` executable (next to the test bundle, or in
/// `OCR_TEST_BIN_DIR`) with exactly the environment given: the test process's `OCR_*`
/// variables never leak in. The settings tests run `ocr-worker check` with a value that
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

    func run(_ arguments: [String], environment: [String: String]) async throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var full = environment
        for name in ["PATH", "LD_LIBRARY_PATH", "HOME"] { full[name] = ProcessInfo.processInfo.environment[name] }
        process.environment = full
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both outputs are a few lines: reading one to its end cannot block the other.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A configuration file with `lines`, removed when the test process ends (they are tiny).
    static func file(_ lines: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-settings-\(UUID().uuidString).env").path
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
