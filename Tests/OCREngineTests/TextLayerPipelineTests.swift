import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// With poppler and Tesseract: a born-digital page is read from its text layer, a page
/// without one is recognised, a job can force recognition, and the searchable PDF keeps
/// the original page where its text served.
@Suite(.tags(.tesseract)) struct TextLayerPipelineTests {
    static let lines = ["Born digital text on a PDF page", "with a second line below it"]
    /// Page 1: text in Helvetica. Page 2: nothing on it (a scan would be an image).
    static let mixed = TextPDF.document([
        .init(boxes: "/MediaBox [0 0 612 792]", content: TextPDF.lines(lines)),
        .init(boxes: "/MediaBox [0 0 200 100]"),
    ])

    @Test func bornDigitalPagesTakeTheirTextLayer() async throws {
        let harness = try EngineHarness(Self.mixed)
        defer { harness.remove() }
        let document = try await harness.prepare().get()
        #expect(document.pageCount == 2 && document.textLayerPageCount == 1)
        #expect(try await harness.prepare(forceOCR: true).get().textLayerPageCount == 0, "a job can force recognition")
        let outcome = try await harness.process().get()
        #expect(outcome.textLayerPages == 1)
        #expect(outcome.pageTexts == [Self.lines.joined(separator: "\n") + "\n", ""])
    }

    @Test func searchablePdfKeepsTheOriginalTextPage() async throws {
        let harness = try EngineHarness(Self.mixed)
        defer { harness.remove() }
        _ = try await harness.process(format: .pdf).get()
        let result = harness.directory.appendingPathComponent("result.pdf").path
        let pages = try Subprocess.run("pdfinfo", [result], deadline: .now + .seconds(30), cancel: CancelFlag())
        #expect(DocumentPlanner.field("Pages", in: pages.stdout) == "2")
        // The original page: its text, no image. The recognised page: the page image.
        let text = try Subprocess.run(
            "pdftotext", ["-f", "1", "-l", "1", result, "-"], deadline: .now + .seconds(30), cancel: CancelFlag())
        #expect(text.stdout.contains(Self.lines[0]))
        let images = try Subprocess.run("pdfimages", ["-list", result], deadline: .now + .seconds(30), cancel: CancelFlag())
        #expect(PDFImageCoverage.areas(pdfimagesList: images.stdout).keys.sorted() == [2])
    }
}
