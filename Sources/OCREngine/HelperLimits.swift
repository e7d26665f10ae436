/// Resource limits of every helper program the engine runs outside the sandbox (pdftoppm,
/// pdfinfo, qpdf), applied with prlimit as the office sandbox's are: a hostile PDF that
/// makes a helper spin, grow without bound or write a huge raster fails the task with a
/// clear state instead of taking the machine. The processing deadline still bounds wall
/// time.
public struct HelperLimits: Sendable, Equatable {
    /// CPU seconds of one helper run (RLIMIT_CPU; SIGXCPU beyond).
    public var cpuSeconds: Int
    /// Address space in bytes (RLIMIT_AS; allocations fail beyond).
    public var addressSpaceBytes: Int
    /// Largest file a helper may write (RLIMIT_FSIZE; SIGXFSZ beyond), e.g. one page's
    /// raster: a 100-megapixel page at 3 bytes a pixel is 300 MB.
    public var fileSizeBytes: Int

    public init(cpuSeconds: Int = 120, addressSpaceBytes: Int = 4 << 30, fileSizeBytes: Int = 1 << 30) {
        self.cpuSeconds = max(1, cpuSeconds)
        self.addressSpaceBytes = max(1 << 20, addressSpaceBytes)
        self.fileSizeBytes = max(1, fileSizeBytes)
    }

    /// The file-size limit for an error message.
    var fileSizeDescription: String {
        fileSizeBytes >= 1 << 20 ? "\(fileSizeBytes >> 20) MB" : "\(fileSizeBytes) bytes"
    }

    /// prlimit's arguments before the command (no core files either).
    var prlimitArguments: [String] {
        ["--cpu=\(cpuSeconds)", "--as=\(addressSpaceBytes)", "--fsize=\(fileSizeBytes)", "--core=0", "--"]
    }
}
