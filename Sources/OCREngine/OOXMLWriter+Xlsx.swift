public import Foundation

extension OOXMLWriter {
    public static func writeXlsx(pages: [PageLayout], to url: URL) throws {
        let sheetCount = max(1, pages.count)
        var parts: [(String, String)] = []
        var overrides: [(part: String, type: String)] = [
            ("/xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
        ]
        var sheets = ""
        var workbookRelationships: [(id: String, type: String, target: String)] = []
        for number in 1...sheetCount {
            overrides.append(
                ("/xl/worksheets/sheet\(number).xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"))
            sheets += #"<sheet name="Page \#(number)" sheetId="\#(number)" r:id="rId\#(number)"/>"#
            workbookRelationships.append(("rId\(number)", relationshipBase + "worksheet", "worksheets/sheet\(number).xml"))
            parts.append(("xl/worksheets/sheet\(number).xml", xlsxSheet(number <= pages.count ? pages[number - 1] : nil)))
        }
        let workbook =
            header + #"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#
            + #"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#
            + "<sheets>\(sheets)</sheets></workbook>"
        try writePackage(
            mainPart: "xl/workbook.xml", overrides: overrides,
            parts: [
                ("xl/workbook.xml", workbook),
                ("xl/_rels/workbook.xml.rels", relationships(workbookRelationships)),
            ] + parts, to: url)
    }

    /// The rows of one page: a paragraph a row (text in column A), a table's rows cell by
    /// cell, a blank row between a table and what stands around it.
    static func xlsxSheet(_ page: PageLayout?) -> String {
        var rows: [[String]] = []
        var previousWasTable = false
        for block in page?.blocks ?? [] {
            switch block {
            case .paragraph(let paragraph):
                if previousWasTable { rows.append([]) }
                rows.append([paragraph.text])
                previousWasTable = false
            case .table(let table):
                if !rows.isEmpty { rows.append([]) }
                rows += table.rows
                previousWasTable = true
            }
        }
        var widths: [Int] = []
        var xml = ""
        for (index, cells) in rows.enumerated() where !cells.isEmpty {
            let row = index + 1
            xml += #"<row r="\#(row)">"#
            for (column, text) in cells.enumerated() where !text.isEmpty {
                let reference = columnName(column) + String(row)
                if let number = XlsxNumber.literal(text) {
                    xml += #"<c r="\#(reference)"><v>\#(number)</v></c>"#
                } else {
                    xml += #"<c r="\#(reference)" t="inlineStr"><is><t xml:space="preserve">\#(escape(text))</t></is></c>"#
                }
                // Table columns get the width of their longest cell (paragraphs in A run
                // over the empty cells to their right instead).
                if cells.count > 1 {
                    while widths.count <= column { widths.append(0) }
                    widths[column] = max(widths[column], min(60, text.count + 2))
                }
            }
            xml += "</row>"
        }
        let columns = widths.enumerated().filter { $0.element > 0 }.map { column, width in
            #"<col min="\#(column + 1)" max="\#(column + 1)" width="\#(width)" customWidth="1"/>"#
        }.joined()
        return header + #"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#
            + (columns.isEmpty ? "" : "<cols>\(columns)</cols>") + "<sheetData>\(xml)</sheetData></worksheet>"
    }

    /// A, B, ..., Z, AA, AB, ... for column 0, 1, ...
    static func columnName(_ index: Int) -> String {
        var name = ""
        var rest = index + 1
        while rest > 0 {
            let remainder = (rest - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + remainder))) + name
            rest = (rest - 1) / 26
        }
        return name
    }
}
