import Foundation

/// Runs helper programs (pdftoppm, pdfinfo, qpdf, soffice) synchronously on an engine pool
/// thread, with a deadline and cancellation; never on the Swift cooperative pool. With
/// ``HelperLimits`` the helper runs under prlimit, and one stopped by its CPU-time or
/// file-size limit is a ``OCRFailure/tooLarge(_:)`` that names the limit.
enum Subprocess {
    struct Output {
        /// The exit status, or the signal that ended the helper (see ``signal``).
        var status: Int32
        var stdout: String
        var stderr: String
        /// The signal that ended the helper, nil when it exited.
        var signal: Int32? = nil
    }

    /// The command line that runs `path` with `arguments`: with `limits`, under prlimit,
    /// through `env --default-signal` so SIGXCPU and SIGXFSZ stop the helper even when our
    /// process ignores them (an ignored signal is inherited across exec, and then
    /// pdftoppm, which does not check its writes, "succeeds" with a truncated raster).
    static func commandLine(
        path: String, arguments: [String], limits: HelperLimits?, prlimitPath: String, envPath: String
    ) -> (executable: String, arguments: [String]) {
        guard let limits else { return (path, arguments) }
        return (prlimitPath, limits.prlimitArguments + [envPath, "--default-signal=XCPU,XFSZ", path] + arguments)
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
        cancel: CancelFlag, environment: [String: String]? = nil, limits: HelperLimits? = nil
    ) throws(OCRFailure) -> Output {
        guard let path = which(executable) else {
            throw .failed("\(executable) is not installed on this server")
        }
        var prlimitPath = ""
        var envPath = ""
        if limits != nil {
            guard let prlimit = which("prlimit"), let env = which("env") else {
                throw .unavailable("prlimit or env is not installed: helpers run only under resource limits")
            }
            prlimitPath = prlimit
            envPath = env
        }
        let command = commandLine(
            path: path, arguments: arguments, limits: limits, prlimitPath: prlimitPath, envPath: envPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        if let environment { process.environment = environment }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
        let outBox = DataBox()
        let errBox = DataBox()
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
        let signal = process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
        if let limits, let signal {
            switch signal {
            case SIGXCPU:
                throw .tooLarge("\(executable) exceeded its CPU-time limit of \(limits.cpuSeconds) s")
            case SIGKILL:
                // A helper that ignores SIGXCPU is killed at the hard CPU limit; the kernel's
                // out-of-memory killer also kills. Our own kills (deadline, cancel) threw above.
                throw .tooLarge(
                    "\(executable) was killed: over its CPU-time limit of \(limits.cpuSeconds) s or out of memory")
            case SIGXFSZ:
                throw .tooLarge("\(executable) exceeded its file-size limit of \(limits.fileSizeDescription)")
            default:
                break
            }
        }
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: outBox.data, as: UTF8.self),
            stderr: String(decoding: errBox.data, as: UTF8.self), signal: signal)
    }

    private final class DataBox: @unchecked Sendable {
        var data = Data()
    }
}
