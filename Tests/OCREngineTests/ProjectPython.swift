import Foundation

/// The project's Python (scripts/setup's venv, with python-docx, openpyxl, python-pptx
/// and Pillow): independent readers of what the engine writes.
enum ProjectPython {
    static let executable = samples.deletingLastPathComponent().appendingPathComponent(".tools/venv/bin/python").path

    struct Failed: Error, CustomStringConvertible {
        var status: Int32
        var stderr: String
        var description: String { "python exited with \(status): \(stderr)" }
    }

    /// Runs `script` with `arguments`; its standard output.
    static func run(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed(status: process.terminationStatus, stderr: errorText) }
        return text
    }
}
