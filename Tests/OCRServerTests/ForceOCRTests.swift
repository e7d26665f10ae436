import Foundation
import TestSupport
import Testing

@testable import OCRServer

/// `force_ocr`: a born-digital PDF page is taken from its text layer unless the request
/// forces recognition; the flag survives a restart in the task's job file, and a value
/// that is not a flag is refused rather than read as false.
@Suite(.tags(.tesseract)) struct ForceOCRTests {
    /// One page with a real text layer (Helvetica), nothing drawn as an image.
    static let bornDigital = TextPDF.document([
        .init(boxes: "/MediaBox [0 0 612 792]", content: TextPDF.lines(["A page that carries its own text", "in a second line"]))
    ])

    /// Creates a searchable-PDF task of the born-digital page and returns how many images
    /// its result holds: none when the text layer served, the page image when it was OCRed.
    private func resultImages(_ api: API, directory: URL, force: String?) async throws -> Int {
        var parts: [Part] = [.file("image_file", "born-digital.pdf", Self.bornDigital), .field("format", "pdf")]
        if let force { parts.append(.field("force_ocr", force)) }
        let id = try await api.createTask(parts)
        let data = try await api.waitTerminal(id)
        #expect(data["state"] as? Int == 1, "\(data)")
        let result = directory.appendingPathComponent("results/\(id).pdf").path
        let list = try await run("/usr/bin/pdfimages", ["-list", result])
        // Two header lines, then one line per image.
        return list.split(separator: "\n").count - 2
    }

    @Test func aTextLayerServesUnlessTheRequestForcesRecognition() async throws {
        try await withRouterServer { api, directory in
            let layer = try await resultImages(api, directory: directory, force: nil)
            let zero = try await resultImages(api, directory: directory, force: "0")
            let forced = try await resultImages(api, directory: directory, force: "1")
            let upper = try await resultImages(api, directory: directory, force: "TRUE")
            #expect(layer == 0, "the text layer served")
            #expect(zero == 0, "0 is the default")
            #expect(forced == 1, "the page was rendered and recognised")
            #expect(upper == 1)
        }
    }

    @Test func aValueThatIsNotAFlagIs400() async throws {
        try await withRouterServer { api, _ in
            for value in ["yes", "2", "ture"] {
                let reply = try await api.create([.file("image_file", "a.pdf", Self.bornDigital), .field("force_ocr", value)])
                expectRejected(reply, 400, containing: "force_ocr")
            }
        }
    }

    @Test func theFlagIsKeptForARestartAndOldJobFilesMeanFalse() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("force-ocr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = PersistedTaskJob(languages: ["English"], password: nil, format: "txt", imageURL: nil, forceOCR: true)
        try job.write(to: directory)
        #expect(PersistedTaskJob.read(from: directory)?.forceOCR == true)

        let older = #"{"languages":["English"],"format":"txt"}"#
        try Data(older.utf8).write(to: directory.appendingPathComponent(PersistedTaskJob.fileName))
        let read = try #require(PersistedTaskJob.read(from: directory))
        #expect(read.forceOCR == nil)
    }
}
