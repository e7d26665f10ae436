import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// With Tesseract: a ruled table on a page image (recognition forced on a PDF page that
/// has text) comes out of docx as a Word table, cell by cell.
@Suite(.tags(.tesseract)) struct TableRecognitionTests {
    static let cells = [
        ["Service", "Port", "Protocol"], ["echo", "7", "tcp"], ["discard", "9", "udp"], ["daytime", "13", "tcp"],
    ]

    /// The table in 12 pt Helvetica with its grid drawn, on a 400 x 200 pt page.
    static let page: Data = {
        let columns = [30, 150, 250]
        var content = ""
        for (row, values) in cells.enumerated() {
            for (value, x) in zip(values, columns) { content += TextPDF.text(value, x: x, y: 166 - 22 * row, size: 12) + "\n" }
        }
        for y in stride(from: 182, through: 94, by: -22) { content += "20 \(y) m 340 \(y) l S\n" }
        for x in [20, 140, 240, 340] { content += "\(x) 94 m \(x) 182 l S\n" }
        return TextPDF.document([.init(boxes: "/MediaBox [0 0 400 200]", content: content)])
    }()

    @Test func aRuledTableBecomesAWordTable() async throws {
        let harness = try EngineHarness(Self.page)
        defer { harness.remove() }
        let outcome = try await harness.process(format: .docx, forceOCR: true).get()
        #expect(outcome.textLayerPages == 0)
        let output = try ProjectPython.run(
            """
            import docx, sys
            for t in docx.Document(sys.argv[1]).tables:
                for r in t.rows: print(*[c.text for c in r.cells], sep="|")
            """, [harness.directory.appendingPathComponent("result.docx").path])
        #expect(output.split(separator: "\n") == Self.cells.map { $0.joined(separator: "|")[...] })
    }
}
