import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// docx, xlsx and pptx hold paragraphs as paragraphs (not a line each), headings as
/// headings and tables as tables, as python-docx, openpyxl and python-pptx read them.
@Suite(.tags(.tesseract)) struct OOXMLLayoutTests {
    /// A heading, a paragraph of two lines, the services table, a paragraph.
    static let page = LayoutAnalyzerTests.services().layout

    func write(_ format: ResultFormat, _ pages: [PageLayout] = [page]) throws -> (URL, () -> Void) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ooxml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("result.\(format.rawValue)")
        switch format {
        case .docx: try OOXMLWriter.writeDocx(pages: pages, to: url)
        case .xlsx: try OOXMLWriter.writeXlsx(pages: pages, to: url)
        case .pptx: try OOXMLWriter.writePptx(pages: pages, to: url)
        case .txt, .pdf: Issue.record("not an OOXML format")
        }
        return (url, { try? FileManager.default.removeItem(at: directory) })
    }

    @Test func docxHasHeadingsParagraphsAndATable() throws {
        let (url, remove) = try write(.docx)
        defer { remove() }
        let output = try ProjectPython.run(
            """
            import docx, sys
            d = docx.Document(sys.argv[1])
            for p in d.paragraphs:
                if p.text: print("P", p.style.name, p.text, sep="|")
            for t in d.tables:
                for r in t.rows: print("R", *[c.text for c in r.cells], sep="|")
            """, [url.path])
        #expect(
            output.split(separator: "\n") == [
                "P|Heading 2|Network services", "P|Normal|The first entries of the services table",
                "P|Normal|Only the first entries are shown here.", "R|Service|Port|Protocol|Comment", "R|echo|7|tcp|",
                "R|discard|9|udp|sink null", "R|tcpmux|1|tcp|TCP port service multiplexer", "R|ssh|22|tcp|SSH Remote Login",
            ])
    }

    @Test func xlsxHasOneCellPerTableCellAndNumbersAsNumbers() throws {
        let (url, remove) = try write(.xlsx)
        defer { remove() }
        let output = try ProjectPython.run(
            """
            import openpyxl, sys
            ws = openpyxl.load_workbook(sys.argv[1]).active
            for row in ws.iter_rows():
                print(*[f"{type(c.value).__name__}:{c.value}" for c in row if c.value is not None], sep="|")
            """, [url.path])
        #expect(
            output.split(separator: "\n", omittingEmptySubsequences: false) == [
                "str:Network services", "str:The first entries of the services table", "",
                "str:Service|str:Port|str:Protocol|str:Comment", "str:echo|int:7|str:tcp", "str:discard|int:9|str:udp|str:sink null",
                "str:tcpmux|int:1|str:tcp|str:TCP port service multiplexer", "str:ssh|int:22|str:tcp|str:SSH Remote Login", "",
                "str:Only the first entries are shown here.", "",
            ])
    }

    @Test func pptxHasTextBoxesAndATable() throws {
        let (url, remove) = try write(.pptx)
        defer { remove() }
        let output = try ProjectPython.run(
            """
            import pptx, sys
            p = pptx.Presentation(sys.argv[1])
            print(len(p.slides))
            for shape in p.slides[0].shapes:
                if shape.has_text_frame:
                    print("T", *[q.text for q in shape.text_frame.paragraphs], sep="|")
                if shape.has_table:
                    for r in shape.table.rows: print("R", *[c.text for c in r.cells], sep="|")
            """, [url.path])
        #expect(
            output.split(separator: "\n") == [
                "1", "T|Network services|The first entries of the services table", "R|Service|Port|Protocol|Comment",
                "R|echo|7|tcp|", "R|discard|9|udp|sink null", "R|tcpmux|1|tcp|TCP port service multiplexer",
                "R|ssh|22|tcp|SSH Remote Login", "T|Only the first entries are shown here.",
            ])
    }

    /// Markup characters are escaped, characters XML forbids dropped, pages separated.
    @Test func textIsEscapedAndPagesSeparated() throws {
        let (url, remove) = try write(.docx, [.plain("a < b & c > \"d\"\u{01}\n\n第二行"), .plain("page two")])
        defer { remove() }
        let output = try ProjectPython.run(
            "import docx,sys; print('|'.join(p.text for p in docx.Document(sys.argv[1]).paragraphs))", [url.path])
        #expect(output.trimmingCharacters(in: .newlines) == "a < b & c > \"d\"|第二行||page two")
    }

    @Test func numbersAreOnlyWhatLooksLikeANumber() {
        let cases: [(String, String?)] = [
            ("22", "22"), ("1,234", "1234"), ("-3.5", "-3.5"), ("+7", "7"), ("0", "0"), ("0.25", "0.25"),
            ("\u{2212}4", "-4"), ("007", nil), ("12%", nil), ("22/tcp", nil), ("+4230+00131", nil), ("1.2.3", nil),
            ("1,23", nil), ("1234,567", nil), ("12345678901234567", nil), ("", nil), (".", nil), ("1.", nil), ("-", nil),
        ]
        for (text, literal) in cases { #expect(XlsxNumber.literal(text) == literal, "\(text)") }
    }

    @Test func columnNames() {
        #expect([0, 1, 25, 26, 27, 701, 702].map(OOXMLWriter.columnName) == ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"])
    }
}
