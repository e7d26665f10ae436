public import Foundation

/// Converts an office document (doc, docx, xls, xlsx, ppt, pptx) to PDF with LibreOffice,
/// inside a bubblewrap sandbox:
///
/// - no network (`--unshare-all` takes the network namespace away: only a loopback
///   interface that is down), and new PID, IPC and UTS namespaces;
/// - a private, empty `/tmp`; `/usr` and the few files of `/etc` LibreOffice reads
///   (its own configuration, fontconfig, the loader cache) read-only; the only writable
///   path is this conversion's directory (input copy, output, profile, home);
/// - an empty environment apart from `HOME`, `PATH` and `LANG`, so no key or secret of the
///   server reaches it;
/// - CPU-time, address-space, file-size and process limits (prlimit), and a wall-clock
///   timeout after which the whole sandbox is killed (`--die-with-parent`, PID namespace);
/// - a profile directory of its own per conversion (`-env:UserInstallation`), so
///   conversions never share state or block each other.
public struct OfficeSandbox: Sendable {
    public struct Limits: Sendable {
        /// CPU seconds of the conversion (RLIMIT_CPU).
        public var cpuSeconds: Int
        /// Address space in bytes (RLIMIT_AS).
        public var addressSpaceBytes: Int
        /// Largest file it may write (RLIMIT_FSIZE).
        public var fileSizeBytes: Int
        /// Wall-clock limit of one conversion.
        public var timeout: Duration

        public init(
            cpuSeconds: Int = 120, addressSpaceBytes: Int = 4 << 30, fileSizeBytes: Int = 512 << 20,
            timeout: Duration = .seconds(180)
        ) {
            self.cpuSeconds = cpuSeconds
            self.addressSpaceBytes = addressSpaceBytes
            self.fileSizeBytes = fileSizeBytes
            self.timeout = timeout
        }
    }

    /// This conversion's private directory; mounted as `/job` inside the sandbox.
    let directory: URL
    let limits: Limits
    /// The bubblewrap executable: a name looked up on PATH, or a path (tests inject one).
    let bwrap: String

    public init(directory: URL, limits: Limits = .init(), bwrap: String = "bwrap") {
        self.directory = directory
        self.limits = limits
        self.bwrap = bwrap
    }

    /// The programs the sandbox needs; nil when all are installed, else what is missing.
    public static var missingPrograms: String? { missingPrograms(bwrap: "bwrap") }

    static func missingPrograms(bwrap: String) -> String? {
        let missing = ["soffice", bwrap, "prlimit"].filter { Subprocess.which($0) == nil }
        return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }

    /// The command, inside the sandbox, that converts `/job/in/<name>` to `/job/out`.
    static func conversionCommand(sourceName: String) -> [String] {
        [
            "/usr/bin/soffice", "--headless", "--norestore", "--nologo", "--nolockcheck", "--nodefault",
            "-env:UserInstallation=file:///job/profile",
            "--convert-to", "pdf", "--outdir", "/job/out", "/job/in/" + sourceName,
        ]
    }

    /// The bwrap command line (after prlimit's) that runs `command` in the sandbox.
    func sandboxArguments(command: [String]) -> [String] {
        var arguments = [
            "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr",
        ]
        for (link, target) in [("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/sbin", "usr/sbin")] {
            arguments += ["--symlink", target, link]
        }
        for path in ["/etc/libreoffice", "/etc/fonts", "/etc/ld.so.cache"] {
            arguments += ["--ro-bind-try", path, path]
        }
        arguments += [
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--bind", directory.path, "/job",
            "--clearenv", "--setenv", "HOME", "/job/home", "--setenv", "PATH", "/usr/bin",
            "--setenv", "LANG", "C.UTF-8", "--chdir", "/job",
        ]
        return arguments + command
    }

    /// Runs `command` in the sandbox under prlimit; the helper's output, whatever its status.
    private func run(_ command: [String], deadline: ContinuousClock.Instant, cancel: CancelFlag) throws(OCRFailure)
        -> Subprocess.Output
    {
        let prlimit = [
            "--cpu=\(limits.cpuSeconds)", "--as=\(limits.addressSpaceBytes)", "--fsize=\(limits.fileSizeBytes)",
            "--core=0", "--", Subprocess.which(bwrap) ?? bwrap,
        ]
        return try Subprocess.run(
            "prlimit", prlimit + sandboxArguments(command: command), deadline: deadline,
            cancel: cancel, environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"])
    }

    /// Why the sandbox itself could not start, from a run's status and stderr: bubblewrap
    /// reports its own failures (no user namespaces, a mount refused) with a message that
    /// starts with `bwrap:`, before the command inside ever runs, and exits non-zero. Nil
    /// when it did start (whatever the command inside then did).
    static func startFailure(_ output: Subprocess.Output) -> String? {
        guard output.status != 0,
            let line = output.stderr.split(separator: "\n").first(where: { !$0.allSatisfy(\.isWhitespace) }),
            line.hasPrefix("bwrap:")
        else { return nil }
        return "the office sandbox (bubblewrap) could not start: \(line.prefix(300))"
    }

    /// Runs the sandbox once with a trivial command (`/usr/bin/true`), as a conversion
    /// would run it; nil when it works, else why office inputs cannot be converted here.
    public func probe(timeout: Duration = .seconds(30)) -> String? {
        if let missing = Self.missingPrograms(bwrap: bwrap) {
            return "not installed on this server: \(missing)"
        }
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            return "could not create the sandbox directory: \(error)"
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        do throws(OCRFailure) {
            let output = try run(["/usr/bin/true"], deadline: .now + timeout, cancel: CancelFlag())
            if let reason = Self.startFailure(output) { return reason }
            guard output.status == 0 else {
                return "the office sandbox exited with status \(output.status): \(DocumentPlanner.firstLine(output.stderr))"
            }
            return nil
        } catch {
            return "the office sandbox did not run: \(error)"
        }
    }

    /// Converts `source` and returns the path of the PDF (inside ``directory``).
    func convertToPDF(
        source: String, fileExtension: String, deadline: ContinuousClock.Instant, cancel: CancelFlag
    ) throws(OCRFailure) -> String {
        if let missing = Self.missingPrograms(bwrap: bwrap) {
            throw .invalidDocument(
                "office documents (doc, docx, xls, xlsx, ppt, pptx) need LibreOffice in a bubblewrap sandbox; "
                    + "not installed on this server: \(missing)")
        }
        let sourceName = "document." + fileExtension
        let fileManager = FileManager.default
        do {
            try? fileManager.removeItem(at: directory)
            for sub in ["in", "out", "home", "profile"] {
                try fileManager.createDirectory(
                    at: directory.appendingPathComponent(sub), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            }
            try fileManager.copyItem(atPath: source, toPath: directory.appendingPathComponent("in/" + sourceName).path)
        } catch {
            throw .failed("could not prepare the office conversion: \(error)")
        }
        let conversionDeadline = min(deadline, .now + limits.timeout)
        let result: Subprocess.Output
        do throws(OCRFailure) {
            result = try run(
                Self.conversionCommand(sourceName: sourceName), deadline: conversionDeadline, cancel: cancel)
        } catch {
            guard case .timeout = error else { throw error }
            if ContinuousClock.now >= deadline { throw .timeout("processing timed out while converting the office document") }
            throw .invalidDocument("LibreOffice did not convert the document within \(limits.timeout)")
        }
        // The sandbox failing to start is this server's fault, not the document's.
        if let reason = Self.startFailure(result) { throw .unavailable(reason) }
        let pdf = directory.appendingPathComponent("out/document.pdf").path
        guard result.status == 0, fileManager.fileExists(atPath: pdf) else {
            throw .invalidDocument("LibreOffice could not convert the document to PDF")
        }
        // The profile and the input copy are no longer needed; the PDF is read next.
        try? fileManager.removeItem(at: directory.appendingPathComponent("profile"))
        try? fileManager.removeItem(at: directory.appendingPathComponent("in"))
        return pdf
    }
}
