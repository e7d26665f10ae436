import TestSupport
import Testing

@testable import OCREngine

/// Lines become paragraphs, headings are told by size, columns are read one after the
/// other, and aligned words become tables (but running text in columns does not).
@Suite(.tags(.tesseract)) struct LayoutAnalyzerTests {
    static let prose = "alpha beta gamma delta epsilon zeta eta theta"

    @Test func paragraphsFollowTheSourceAndJoinBrokenWords() {
        var fixture = LayoutFixture()
        fixture.line("One paragraph whose last word is exam-", x: 20, y: 20, block: 1, paragraph: 1)
        fixture.line("ple and a well-", x: 20, y: 34, block: 1, paragraph: 1)
        fixture.line("Known name.", x: 20, y: 48, block: 1, paragraph: 1)
        fixture.line("Another paragraph.", x: 20, y: 70, block: 1, paragraph: 2)
        let layout = fixture.layout
        #expect(
            layout.paragraphTexts == [
                "One paragraph whose last word is example and a well- Known name.", "Another paragraph.",
            ])
        #expect(layout.text == "One paragraph whose last word is exam-\nple and a well-\nKnown name.\n\nAnother paragraph.\n")
    }

    @Test func headingsAreToldBySize() {
        var fixture = LayoutFixture()
        fixture.line("Title", x: 20, y: 10, block: 1, paragraph: 1, size: 16)
        fixture.line("Section", x: 20, y: 40, block: 2, paragraph: 2, size: 12.5)
        for (index, y) in [60.0, 74, 88].enumerated() {
            fixture.line(Self.prose, x: 20, y: y, block: 3, paragraph: 3 + index)
        }
        // A heading the source ran into the paragraph under it.
        fixture.line("Run in", x: 20, y: 110, block: 4, paragraph: 7, size: 13)
        fixture.line(Self.prose, x: 20, y: 130, block: 4, paragraph: 7)
        fixture.line(Self.prose, x: 20, y: 144, block: 4, paragraph: 7)
        let roles = fixture.layout.blocks.map { block -> PageLayout.Paragraph.Role? in
            if case .paragraph(let paragraph) = block { return paragraph.role }
            return nil
        }
        #expect(roles == [.heading(level: 1), .heading(level: 2), .body, .body, .body, .heading(level: 2), .body])
    }

    /// Two columns between a heading and a footer that span both, then two more columns;
    /// the source read across the columns, row by row.
    static func columns() -> LayoutFixture {
        var fixture = LayoutFixture()
        var block = 0
        func paragraph(_ name: String, x: Double, y: Double, width: Int = 1) {
            block += 1
            for line in 0..<3 {
                let text = ([name] + Array(repeating: prose, count: width)).joined(separator: " ")
                fixture.line(line == 0 ? text : prose, x: x, y: y + Double(line) * 14, block: block, paragraph: block)
            }
        }
        block += 1
        fixture.line("Heading spanning both columns " + prose + " " + prose, x: 20, y: 20, block: block, paragraph: block)
        paragraph("L1", x: 20, y: 60)
        paragraph("R1", x: 330, y: 60)
        paragraph("L2", x: 20, y: 120)
        paragraph("R2", x: 330, y: 120)
        block += 1
        fixture.line("Footer spanning both columns " + prose + " " + prose, x: 20, y: 180, block: block, paragraph: block)
        paragraph("L3", x: 20, y: 220)
        paragraph("R3", x: 330, y: 220)
        return fixture
    }

    @Test func columnsAreReadOneAfterTheOther() {
        #expect(Self.columns().layout.outline == ["Heading", "L1", "L2", "R1", "R2", "Footer", "L3", "R3"])
    }

    @Test func columnsOfRunningTextAreNotATable() {
        #expect(Self.columns().layout.tables.isEmpty)
    }

    @Test func termsWithDescriptionsAreNotATable() {
        var fixture = LayoutFixture()
        for (index, term) in ["-a, --all", "-b, --escape", "-c", "-d, --directory"].enumerated() {
            let y = 20 + Double(index) * 42
            fixture.line(term, x: 20, y: y, block: 1, paragraph: 2 * index)
            fixture.line("do not ignore entries starting with a dot", x: 140, y: y, block: 1, paragraph: 2 * index + 1)
            fixture.line("and print them all in the output listing", x: 140, y: y + 14, block: 1, paragraph: 2 * index + 1)
        }
        #expect(fixture.layout.tables.isEmpty)
    }

    static let serviceColumns: [Double] = [20, 140, 220, 320]

    /// A heading, a paragraph, a table whose last column wraps once, a paragraph.
    static func services() -> LayoutFixture {
        var fixture = LayoutFixture()
        fixture.line("Network services", x: 20, y: 20, block: 1, paragraph: 1, size: 14)
        fixture.line("The first entries of the services table", x: 20, y: 50, block: 2, paragraph: 2)
        var block = 2
        fixture.row(["Service", "Port", "Protocol", "Comment"], columns: serviceColumns, y: 90, block: &block)
        fixture.row(["echo", "7", "tcp", ""], columns: serviceColumns, y: 104, block: &block)
        fixture.row(["discard", "9", "udp", "sink null"], columns: serviceColumns, y: 118, block: &block)
        fixture.row(["tcpmux", "1", "tcp", "TCP port service"], columns: serviceColumns, y: 132, block: &block)
        fixture.row(["", "", "", "multiplexer"], columns: serviceColumns, y: 146, block: &block)
        fixture.row(["ssh", "22", "tcp", "SSH Remote Login"], columns: serviceColumns, y: 160, block: &block)
        fixture.line("Only the first entries are shown here.", x: 20, y: 200, block: block + 1, paragraph: block + 1)
        return fixture
    }

    @Test func alignedWordsBecomeATable() throws {
        let layout = Self.services().layout
        #expect(layout.outline == ["Network", "The", "table:Service", "Only"])
        let table = try #require(layout.tables.first)
        #expect(
            table.rows == [
                ["Service", "Port", "Protocol", "Comment"], ["echo", "7", "tcp", ""], ["discard", "9", "udp", "sink null"],
                ["tcpmux", "1", "tcp", "TCP port service multiplexer"], ["ssh", "22", "tcp", "SSH Remote Login"],
            ])
        #expect(table.columns.map(\.lowerBound) == Self.serviceColumns)
        #expect(layout.text.contains("discard\t9\tudp\tsink null\n"))
    }

    /// One long cell that runs up to the next column does not merge the columns of a long
    /// table.
    @Test func aLongCellDoesNotMergeColumns() throws {
        var fixture = LayoutFixture()
        let columns: [Double] = [20, 120, 220]
        var block = 0
        for index in 0..<12 {
            let code = index == 5 ? "AE,OM,RE,SC,TF,XX" : "A\(index)"
            fixture.row([code, "+\(4230 + index)", "Europe/City\(index)"], columns: columns, y: 20 + Double(index) * 14, block: &block)
        }
        let table = try #require(fixture.layout.tables.first)
        #expect(table.columns.count == 3)
        try #require(table.rows.count == 12, "\(table.rows)")
        #expect(table.rows[4] == ["A4", "+4234", "Europe/City4"])
        #expect(table.rows[5].filter { !$0.isEmpty }.joined(separator: " ") == "AE,OM,RE,SC,TF,XX +4235 Europe/City5")
    }

    /// With ruling lines, a row whose cells wrap onto two lines stays one row.
    @Test func ruledRowsHoldWrappedCells() throws {
        var fixture = LayoutFixture()
        let columns: [Double] = [20, 200, 400]
        var block = 0
        fixture.row(["Name", "Value", "Note"], columns: columns, y: 94, block: &block)
        fixture.row(["long name", "12", "first line"], columns: columns, y: 124, block: &block)
        fixture.row(["continues", "", "second line"], columns: columns, y: 138, block: &block)
        fixture.row(["x", "3", "z"], columns: columns, y: 168, block: &block)
        fixture.row(["y", "4", "w"], columns: columns, y: 198, block: &block)
        let unruled = try #require(fixture.layout.tables.first)
        #expect(unruled.rows.count == 5, "without rules every line with two cells starts a row")
        fixture.rules = [88.0, 118, 162, 192, 222].map { PageLayout.Box(left: 10, top: $0, right: 560, bottom: $0 + 1) }
        let ruled = try #require(fixture.layout.tables.first)
        #expect(
            ruled.rows == [
                ["Name", "Value", "Note"], ["long name continues", "12", "first line second line"], ["x", "3", "z"],
                ["y", "4", "w"],
            ])
    }

    @Test func anEmptyPageHasNoBlocks() {
        let layout = LayoutAnalyzer.analyze(SourcePage(width: 100, height: 100, words: []))
        #expect(layout.blocks.isEmpty && layout.text.isEmpty)
    }

    static func order(_ boxes: [PageLayout.Box]) -> [Int] { ReadingOrder.order(boxes, pageHeight: 1000, gutter: 10) }

    @Test func readingOrderKeepsTheSourceOrderWhereTheRulesAllowIt() {
        let box = { (left: Double, top: Double) in PageLayout.Box(left: left, top: top, right: left + 100, bottom: top + 20) }
        // One column: top to bottom whatever the source said.
        #expect(Self.order([box(0, 150), box(0, 100), box(0, 200)]) == [1, 0, 2])
        // Side by side on one row: left first.
        #expect(Self.order([box(200, 100), box(0, 100)]) == [1, 0])
        // Boxes on top of each other still come out, each once.
        #expect(Self.order([box(0, 100), box(0, 100), box(5, 105)]).sorted() == [0, 1, 2])
    }

    /// A manual page: a running head in three parts, a section heading set out into the
    /// left margin, indented text, an example indented further, a running foot.
    @Test func headsMarginHeadingsAndIndentsKeepTheirPlace() {
        let box = { (left: Double, top: Double, right: Double) in PageLayout.Box(left: left, top: top, right: right, bottom: top + 12) }
        let boxes = [
            box(72, 40, 110), // 0 head, left
            box(260, 40, 340), // 1 head, centre
            box(500, 40, 540), // 2 head, right
            box(144, 70, 300), // 3 keywords, indented
            box(108, 100, 540), // 4 text
            box(72, 130, 100), // 5 "Lists", out in the margin
            box(108, 150, 540), // 6 text
            box(144, 180, 400), // 7 example, indented
            box(108, 210, 540), // 8 text
            box(72, 960, 110), // 9 foot, left
            box(500, 960, 540), // 10 foot, right
        ]
        #expect(Self.order(boxes) == Array(0...10))
        // The same blocks as a source that read the head's right part last.
        #expect(Self.order([boxes[0], boxes[1], boxes[3], boxes[2]] + boxes[4...]) == [0, 1, 3, 2] + Array(4...10))
    }
}
