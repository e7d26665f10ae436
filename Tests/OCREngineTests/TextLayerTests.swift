import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// A PDF page's own text serves when it is real text on a page that is not mostly
/// pictures; otherwise the page is recognised from its image.
@Suite(.tags(.tesseract)) struct TextLayerTests {
    static func page(_ texts: [String]) -> SourcePage {
        var fixture = LayoutFixture()
        for (index, text) in texts.enumerated() {
            fixture.line(text, x: 20, y: 20 + Double(index) * 14, block: 1, paragraph: 1)
        }
        return fixture.page
    }

    @Test func realTextOnAPageOfTextIsUsable() {
        #expect(TextLayerJudge.judge(Self.page(["The quick brown fox, 1998."]), imageCoverage: 0.2) == .usable)
    }

    @Test func pagesWithoutTextOrMostlyImagesAreRecognised() {
        #expect(TextLayerJudge.judge(Self.page([]), imageCoverage: 0) == .noText)
        #expect(TextLayerJudge.judge(Self.page(["- . -"]), imageCoverage: 0) == .noText)
        #expect(TextLayerJudge.judge(Self.page(["An earlier OCR's text"]), imageCoverage: 0.97) == .imageCovered(0.97))
    }

    @Test func garbageTextIsRecognised() {
        // Glyphs without a Unicode map: U+FFFD, private use.
        #expect(TextLayerJudge.judge(Self.page(["\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD} ab"]), imageCoverage: 0) == .garbage)
        #expect(TextLayerJudge.judge(Self.page(["\u{E001}\u{E002}\u{E003} word"]), imageCoverage: 0) == .garbage)
        // Codes mapped to punctuation.
        #expect(TextLayerJudge.judge(Self.page(["!\"#$ %&'( )*+, a"]), imageCoverage: 0) == .garbage)
        // A stray unmapped glyph in real text is not garbage.
        #expect(TextLayerJudge.judge(Self.page(["Real text with one \u{FFFD} glyph in it"]), imageCoverage: 0) == .usable)
    }

    @Test func pdftotextLayoutIsRead() throws {
        let xhtml = """
            <!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd"><html xmlns="http://www.w3.org/1999/xhtml">
            <head><title></title><meta name="Producer" content="x &amp; y"/></head><body><doc>
              <page width="612.000000" height="792.000000"><flow><block xMin="90" yMin="95" xMax="226" yMax="113">
                <line xMin="90" yMin="95" xMax="226" yMax="113">
                  <word xMin="90" yMin="95" xMax="156" yMax="113">R&amp;D\u{01}</word>
                  <word xMin="161" yMin="95" xMax="226" yMax="113">&lt;b&gt;</word>
                </line></block>
                <block xMin="90" yMin="120" xMax="200" yMax="134"><line xMin="90" yMin="120" xMax="200" yMax="134">
                  <word xMin="90" yMin="120" xMax="200" yMax="134">next</word></line></block></flow></page>
              <page width="100" height="50"></page>
            </doc></body></html>
            """
        let pages = try #require(TextLayerReader.parse(Data(xhtml.utf8)))
        #expect(pages.count == 2)
        #expect(pages[0].width == 612 && pages[0].height == 792 && pages[1].words.isEmpty)
        #expect(pages[0].words.map(\.text) == ["R&D ", "<b>", "next"])
        #expect(pages[0].words.map(\.paragraph) == [1, 1, 2])
        #expect(pages[0].words[0].box == PageLayout.Box(left: 90, top: 95, right: 156, bottom: 113))
        #expect(TextLayerReader.parse(Data("<doc><page".utf8)) == nil)
    }

    @Test func imageCoverageComesFromPdfimages() {
        let list = """
            page   num  type   width height color comp bpc  enc interp  object ID x-ppi y-ppi size ratio
            --------------------------------------------------------------------------------------------
               1     0 image    1653  2339  rgb     3   8  jpeg   no         5  0   200   200  364K 3.2%
               1     1 smask    1653  2339  gray    1   8  image  no         6  0   200   200  10K 1%
               2     2 image     100   100  gray    1   8  image  no  [inline]     72    72  1K 10%
            """
        let areas = PDFImageCoverage.areas(pdfimagesList: list)
        #expect(abs(areas[1]! - 1653.0 / 200 * 72 * 2339.0 / 200 * 72) < 0.01)
        #expect(areas[2] == 10_000)
        #expect(PDFImageCoverage.fraction(area: areas[1]!, width: 595.08, height: 842.04) > 0.99)
        #expect(PDFImageCoverage.fraction(area: 1e12, width: 10, height: 10) == 1)
    }

    @Test func searchablePdfPagesComeInRuns() {
        let pages: [SearchablePDF.Page] = [
            .rendered, .rendered, .original(path: "a.pdf", page: 3), .original(path: "a.pdf", page: 4), .rendered,
            .original(path: "a.pdf", page: 6),
        ]
        #expect(
            SearchablePDF.runs(pages, rendered: "r.pdf") == [
                .init(file: "r.pdf", first: 1, last: 2), .init(file: "a.pdf", first: 3, last: 4),
                .init(file: "r.pdf", first: 3, last: 3), .init(file: "a.pdf", first: 6, last: 6),
            ])
    }
}
