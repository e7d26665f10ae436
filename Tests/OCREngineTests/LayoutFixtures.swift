@testable import OCREngine

/// Pages of words placed by hand, as a recogniser would report them: every character 6
/// units wide, words 10 units tall with one character's space between them.
struct LayoutFixture {
    var words: [SourcePage.Word] = []
    var rules: [PageLayout.Box] = []
    private var lineNumber = 0

    /// Adds `text` as one line at (`x`, `y`), in block `block` and paragraph `paragraph`.
    mutating func line(_ text: String, x: Double, y: Double, block: Int, paragraph: Int, size: Double = 10) {
        lineNumber += 1
        var left = x
        for word in text.split(separator: " ") {
            let width = Double(word.count) * 6
            words.append(
                SourcePage.Word(
                    text: String(word), box: PageLayout.Box(left: left, top: y, right: left + width, bottom: y + 10),
                    block: block, paragraph: paragraph, line: lineNumber, size: size))
            left += width + 6
        }
    }

    /// Adds the cells of a table row at `y`, each its own line and block at the column's
    /// x (as Tesseract often reports table cells).
    mutating func row(_ cells: [String], columns: [Double], y: Double, block: inout Int) {
        for (cell, x) in zip(cells, columns) where !cell.isEmpty {
            block += 1
            line(cell, x: x, y: y, block: block, paragraph: block)
        }
    }

    var page: SourcePage { SourcePage(width: 620, height: 800, words: words, rules: rules) }
    var layout: PageLayout { LayoutAnalyzer.analyze(page) }
}

extension PageLayout {
    var paragraphTexts: [String] {
        blocks.compactMap {
            if case .paragraph(let paragraph) = $0 { return paragraph.text }
            return nil
        }
    }

    var tables: [Table] {
        blocks.compactMap {
            if case .table(let table) = $0 { return table }
            return nil
        }
    }

    /// Each block's first words: the reading order at a glance.
    var outline: [String] {
        blocks.map { block in
            switch block {
            case .paragraph(let paragraph): paragraph.lines.first?.words.first?.text ?? ""
            case .table(let table): "table:" + (table.rows.first?.first ?? "")
            }
        }
    }
}
