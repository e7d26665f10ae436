public import Foundation

extension OOXMLWriter {
    /// Twips of text width on an A4 page with 1-inch margins: tables are this wide.
    static let docxTextWidth = 11906 - 2 * 1440

    public static func writeDocx(pages: [PageLayout], to url: URL) throws {
        var body = ""
        for (index, page) in pages.enumerated() {
            if index > 0 { body += #"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"# }
            for block in page.blocks {
                switch block {
                case .paragraph(let paragraph):
                    var properties = ""
                    if case .heading(let level) = paragraph.role {
                        properties = #"<w:pPr><w:pStyle w:val="Heading\#(level)"/></w:pPr>"#
                    }
                    body += "<w:p>\(properties)\(docxRun(paragraph.text))</w:p>"
                case .table(let table):
                    body += docxTable(table)
                }
            }
        }
        let document =
            header + #"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#
            + body
            + #"<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>"#
            + "</w:body></w:document>"
        let main = "application/vnd.openxmlformats-officedocument.wordprocessingml."
        try writePackage(
            mainPart: "word/document.xml",
            overrides: [("/word/document.xml", main + "document.main+xml"), ("/word/styles.xml", main + "styles+xml")],
            parts: [
                ("word/_rels/document.xml.rels", relationships([("rId1", relationshipBase + "styles", "styles.xml")])),
                ("word/document.xml", document),
                ("word/styles.xml", docxStyles),
            ], to: url)
    }

    static func docxRun(_ text: String) -> String {
        text.isEmpty ? "" : #"<w:r><w:t xml:space="preserve">\#(escape(text))</w:t></w:r>"#
    }

    /// A table with Word's "Table Grid" borders, its columns as wide as on the page (in
    /// proportion), and an empty paragraph after it (Word needs one between two tables).
    static func docxTable(_ table: PageLayout.Table) -> String {
        let count = max(1, table.columnCount)
        let widths = columnWidths(table, count: count, total: docxTextWidth)
        var xml = #"<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="\#(docxTextWidth)" w:type="dxa"/></w:tblPr><w:tblGrid>"#
        xml += widths.map { #"<w:gridCol w:w="\#($0)"/>"# }.joined() + "</w:tblGrid>"
        for row in table.rows {
            xml += "<w:tr>"
            for column in 0..<count {
                let text = column < row.count ? row[column] : ""
                xml += #"<w:tc><w:tcPr><w:tcW w:w="\#(widths[column])" w:type="dxa"/></w:tcPr><w:p>\#(docxRun(text))</w:p></w:tc>"#
            }
            xml += "</w:tr>"
        }
        return xml + "</w:tbl><w:p/>"
    }

    /// `total` shared among `count` columns in proportion to their widths on the page
    /// (equal shares when the page gave none), each at least a tenth of an even share.
    static func columnWidths(_ table: PageLayout.Table, count: Int, total: Int) -> [Int] {
        let measured = table.columns.count == count ? table.columns.map { max(0, $0.upperBound - $0.lowerBound) } : []
        let sum = measured.reduce(0, +)
        guard sum > 0 else { return [Int](repeating: total / count, count: count) }
        // Each column also gets its gutter: the space to the next column's start.
        var spans = measured
        for index in 0..<(count - 1) {
            spans[index] = max(measured[index], table.columns[index + 1].lowerBound - table.columns[index].lowerBound)
        }
        let spanSum = spans.reduce(0, +)
        let floor = max(1, total / count / 10)
        return spans.map { max(floor, Int(Double(total) * $0 / spanSum)) }
    }

    static let docxStyles =
        header
        + #"<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">"#
        + #"<w:docDefaults><w:rPrDefault><w:rPr><w:sz w:val="22"/></w:rPr></w:rPrDefault>"#
        + #"<w:pPrDefault><w:pPr><w:spacing w:after="120"/></w:pPr></w:pPrDefault></w:docDefaults>"#
        + #"<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>"#
        + #"<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/>"#
        + #"<w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="240"/><w:outlineLvl w:val="0"/></w:pPr>"#
        + #"<w:rPr><w:b/><w:sz w:val="32"/></w:rPr></w:style>"#
        + #"<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/>"#
        + #"<w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="200"/><w:outlineLvl w:val="1"/></w:pPr>"#
        + #"<w:rPr><w:b/><w:sz w:val="26"/></w:rPr></w:style>"#
        + #"<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>"#
        + #"<w:tblPr><w:tblCellMar><w:left w:w="108" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>"#
        + #"<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/><w:basedOn w:val="TableNormal"/>"#
        + #"<w:pPr><w:spacing w:after="0"/></w:pPr><w:tblPr><w:tblBorders>"#
        + ["top", "left", "bottom", "right", "insideH", "insideV"].map {
            #"<w:\#($0) w:val="single" w:sz="4" w:space="0" w:color="auto"/>"#
        }.joined()
        + "</w:tblBorders></w:tblPr></w:style></w:styles>"
}
