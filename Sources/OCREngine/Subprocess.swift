import Foundation

/// Runs helper programs (pdftoppm, pdfinfo, qpdf, soffice) synchronously on an engine pool
/// thread, with a deadline and cancellation; never on the Swift cooperative pool.
enum Subprocess {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Finds an executable on PATH (or common system directories); a name with a slash is
    /// a path, taken as it is when executable.
    static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/bin"]
        for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
            return directory + "/" + name
        }
        return nil
    }

    static func run(
        _ executable: String, _ arguments: [String], deadline: ContinuousClock.Instant,
        cancel: CancelFlag, environment: [String: String]? = nil
    ) throws(OCRFailure) -> Output {
        guard let path = which(executable) else {
            throw .failed("\(executable) is not installed on this server")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
        let outBox = DataBox(), errBox = DataBox()
        let readers = DispatchGroup()
        for (pipe, box) in [(stdout, outBox), (stderr, errBox)] {
            readers.enter()
            DispatchQueue.global().async {
                box.data = pipe.fileHandleForReading.readDataToEndOfFile()
                readers.leave()
            }
        }
        do { try process.run() } catch {
            try? stdout.fileHandleForWriting.close()
            try? stderr.fileHandleForWriting.close()
            readers.wait()
            throw .failed("could not start \(executable): \(error)")
        }
        var outcome: OCRFailure?
        while exited.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if cancel.isCancelled {
                outcome = .cancelled
            } else if ContinuousClock.now >= deadline {
                outcome = .timeout("processing timed out while running \(executable)")
            }
            if outcome != nil {
                process.terminate()
                if exited.wait(timeout: .now() + .seconds(3)) == .timedOut {
                    kill(process.processIdentifier, SIGKILL)
                    exited.wait()
                }
                break
            }
        }
        readers.wait()
        if let outcome { throw outcome }
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: outBox.data, as: UTF8.self),
            stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    private final class DataBox: @unchecked Sendable {
        var data = Data()
    }
}
