import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// pdftoppm, pdfinfo and qpdf run under prlimit, as LibreOffice does: the limits reach
/// the command line, a helper over its limit fails the task with a state that names the
/// limit, and the engine applies its configured limits to the helpers of a real document.
@Suite(.tags(.tesseract)) struct HelperLimitsTests {
    @Test func limitsGoOnThePrlimitCommandLine() {
        let limits = HelperLimits(cpuSeconds: 7, addressSpaceBytes: 64 << 20, fileSizeBytes: 4096)
        let command = Subprocess.commandLine(
            path: "/usr/bin/pdftoppm", arguments: ["-r", "300", "in.pdf", "out"], limits: limits, prlimitPath: "/usr/bin/prlimit",
            envPath: "/usr/bin/env")
        #expect(command.executable == "/usr/bin/prlimit")
        #expect(
            command.arguments == [
                "--cpu=7", "--as=\(64 << 20)", "--fsize=4096", "--core=0", "--", "/usr/bin/env",
                "--default-signal=XCPU,XFSZ", "/usr/bin/pdftoppm", "-r", "300", "in.pdf", "out",
            ])
        let bare = Subprocess.commandLine(path: "/usr/bin/pdfinfo", arguments: ["x.pdf"], limits: nil, prlimitPath: "", envPath: "")
        #expect(bare.executable == "/usr/bin/pdfinfo" && bare.arguments == ["x.pdf"])
    }

    /// A raster larger than the file-size limit: the kernel stops pdftoppm with SIGXFSZ and
    /// the run fails at once with a clear error (it neither hangs nor reads as success).
    @Test func helperOverItsFileSizeLimitFailsClearly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("helper-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let started = ContinuousClock.now
        #expect(throws: OCRFailure.tooLarge("pdftoppm exceeded its file-size limit of 4096 bytes")) {
            _ = try Subprocess.run(
                "pdftoppm",
                [
                    "-r", "150", "-f", "1", "-l", "1", "-singlefile", samples.appendingPathComponent("two-pages.pdf").path,
                    directory.appendingPathComponent("page").path,
                ],
                deadline: .now + .seconds(60), cancel: CancelFlag(), limits: HelperLimits(fileSizeBytes: 4096))
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// The engine passes its configured limits to the helpers of a PDF: with a 4 KB file
    /// limit no page renders and the document fails as too large.
    @Test func engineAppliesItsHelperLimits() async throws {
        let pool = OCREnginePool(
            configuration: EngineConfiguration(workers: 1, helperLimits: HelperLimits(fileSizeBytes: 4096)))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("helper-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = OCRJob(
            input: samples.appendingPathComponent("two-pages.pdf"), languages: try LanguageSelection.resolve(names: ["English"]).get(),
            password: nil, format: .txt, output: directory.appendingPathComponent("result.txt"),
            workDirectory: directory.appendingPathComponent("work"), deadline: .now + .seconds(120))
        await #expect(throws: OCRFailure.tooLarge("pdftoppm exceeded its file-size limit of 4096 bytes")) {
            _ = try await pool.withSlot { slot in
                try await pool.process(job, in: slot, cancel: CancelFlag()) { _ in }
            }
        }
        await pool.shutdown()
    }
}
