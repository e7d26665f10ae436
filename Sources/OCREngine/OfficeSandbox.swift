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

    public init(directory: URL, limits: Limits = .init()) {
        self.directory = directory
        self.limits = limits
    }

    /// The programs the sandbox needs; nil when all are installed, else what is missing.
    public static var missingPrograms: String? {
        let missing = ["soffice", "bwrap", "prlimit"].filter { Subprocess.which($0) == nil }
        return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }

    /// The bwrap command line (after prlimit's) that runs `soffice` on `/job/in/<name>`.
    func sandboxArguments(sourceName: String) -> [String] {
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
            "/usr/bin/soffice", "--headless", "--norestore", "--nologo", "--nolockcheck", "--nodefault",
            "-env:UserInstallation=file:///job/profile",
            "--convert-to", "pdf", "--outdir", "/job/out", "/job/in/" + sourceName,
        ]
        return arguments
    }

    /// Converts `source` and returns the path of the PDF (inside ``directory``).
    func convertToPDF(
        source: String, fileExtension: String, deadline: ContinuousClock.Instant, cancel: CancelFlag
    ) throws(OCRFailure) -> String {
        if let missing = Self.missingPrograms {
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
        let prlimit = [
            "--cpu=\(limits.cpuSeconds)", "--as=\(limits.addressSpaceBytes)", "--fsize=\(limits.fileSizeBytes)",
            "--core=0", "--", "bwrap",
        ]
        let conversionDeadline = min(deadline, .now + limits.timeout)
        let result: Subprocess.Output
        do throws(OCRFailure) {
            result = try Subprocess.run(
                "prlimit", prlimit + sandboxArguments(sourceName: sourceName), deadline: conversionDeadline,
                cancel: cancel, environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"])
        } catch {
            guard case .timeout = error else { throw error }
            if ContinuousClock.now >= deadline { throw .timeout("processing timed out while converting the office document") }
            throw .invalidDocument("LibreOffice did not convert the document within \(limits.timeout)")
        }
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
