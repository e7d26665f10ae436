import Foundation
import OCREngine
import TestSupport
import Testing

let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("samples")

@Suite(.tags(.tesseract)) struct LanguageTableTests {
    @Test func picWishNamesMapToTesseractData() throws {
        let selection = try LanguageSelection.resolve(names: ["ChinesePRC", "English", "Digits"]).get()
        #expect(selection.tesseractLanguage == "chi_sim+eng")
        #expect(!selection.digitsOnly)
        #expect(try LanguageSelection.resolve(names: ["Digits"]).get().digitsOnly)
        #expect(throws: LanguageSelection.Problem.unknown("english")) { try LanguageSelection.resolve(names: ["english"]).get() }
        #expect(throws: LanguageSelection.Problem.notInstalled(name: "French", data: "fra")) {
            try LanguageSelection.resolve(names: ["French"], dataPath: OCRLanguage.defaultDataPath).get()
        }
    }
}

@Suite(.tags(.tesseract)) struct DocumentKindTests {
    @Test func kindsAreJudgedByContent() throws {
        #expect(DocumentKind.detect(path: samples.appendingPathComponent("clean.png").path) == .image)
        #expect(DocumentKind.detect(path: samples.appendingPathComponent("two-pages.pdf").path) == .pdf)
        #expect(DocumentKind.detect(path: samples.appendingPathComponent("clean.txt").path) == .unknown)
    }
}

@Suite(.tags(.tesseract)) struct EnginePoolTests {
    func process(_ file: String, names: [String], format: ResultFormat = .txt) async throws -> (OCROutcome, URL, [OCRPhase]) {
        let pool = OCREnginePool(configuration: EngineConfiguration(workers: 1))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engine-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let output = directory.appendingPathComponent("result.\(format.rawValue)")
        let job = OCRJob(
            input: samples.appendingPathComponent(file), languages: try LanguageSelection.resolve(names: names).get(),
            password: nil, format: format, output: output, workDirectory: directory.appendingPathComponent("work"),
            deadline: .now + .seconds(120))
        let phases = PhaseLog()
        let outcome = try await pool.withSlot { slot in
            try await pool.process(job, in: slot, cancel: CancelFlag()) { phases.append($0) }
        }
        await pool.shutdown()
        return (outcome, output, phases.all)
    }

    /// A drain cancels a task that may just have taken its slot: the pool then refuses its
    /// work, and that must read as cancelled (the server hands the task back), never as a
    /// broken engine (the server would fail the task).
    @Test func aTaskCancelledBeforeItsTurnIsCancelledNotFailed() async throws {
        let pool = OCREnginePool(configuration: EngineConfiguration(workers: 1))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engine-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = OCRJob(
            input: samples.appendingPathComponent("clean.png"), languages: try LanguageSelection.resolve(names: ["English"]).get(),
            password: nil, format: .txt, output: directory.appendingPathComponent("result.txt"),
            workDirectory: directory.appendingPathComponent("work"), deadline: .now + .seconds(120))
        let prepared = try await pool.prepare(job, cancel: CancelFlag())
        // Cancelled before it asks for its slot, as in the drain's race: waiting for the
        // slot, or the work on it, ends as cancelled.
        let errors = await Task { () -> [OCRFailure?] in
            withUnsafeCurrentTask { $0?.cancel() }
            var errors: [OCRFailure?] = [nil, nil]
            do { _ = try await pool.prepare(job, cancel: CancelFlag()) } catch { errors[0] = error as? OCRFailure }
            do {
                _ = try await pool.withSlot { slot in try await pool.process(prepared, job, in: slot, cancel: CancelFlag()) { _ in } }
            } catch { errors[1] = error as? OCRFailure }
            return errors
        }.value
        await pool.shutdown()
        #expect(errors == [.cancelled, .cancelled])
    }

    @Test func progressAdvancesPerPage() async throws {
        let (outcome, output, phases) = try await process("two-pages.pdf", names: ["English"])
        defer { try? FileManager.default.removeItem(at: output.deletingLastPathComponent()) }
        #expect(outcome.pageCount == 2)
        #expect(
            phases == [
                .waiting(pageCount: 2), .processing(pagesDone: 0, pageCount: 2), .processing(pagesDone: 1, pageCount: 2),
                .processing(pagesDone: 2, pageCount: 2),
            ])
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(text.components(separatedBy: "\u{0C}").count == 2, "pages separated by a form feed")
    }

    @Test func digitsAloneRestrictsTheCharacters() async throws {
        let (outcome, output, _) = try await process("clean.png", names: ["Digits"])
        defer { try? FileManager.default.removeItem(at: output.deletingLastPathComponent()) }
        let allowed = Set(OCRLanguage.digitsWhitelist)
        let text = outcome.pageTexts.joined()
        #expect(text.allSatisfy { allowed.contains($0) || $0.isWhitespace }, "\(text)")
        #expect(text.contains("48213"), "\(text)")
    }
}

final class PhaseLog: @unchecked Sendable {
    private let lock = NSLock()
    private var phases: [OCRPhase] = []
    func append(_ phase: OCRPhase) { lock.withLock { phases.append(phase) } }
    var all: [OCRPhase] { lock.withLock { phases } }
}
