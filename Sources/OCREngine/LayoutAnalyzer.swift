/// Makes a ``PageLayout`` of a ``SourcePage``: lines as the source grouped its words,
/// tables found among them (``TableDetector``), the other lines kept in the source's
/// paragraphs (split where the type size changes by a heading's ratio), headings told by
/// their type size, and the blocks put in reading order (``ReadingOrder``).
enum LayoutAnalyzer {
    /// A paragraph of at most this many lines whose type is this much larger than the
    /// page's body text is a heading: level 1 from ``headingLevel1Ratio``, else level 2.
    static let headingRatio = 1.2
    static let headingLevel1Ratio = 1.5
    static let headingMaxLines = 3

    static func analyze(_ page: SourcePage) -> PageLayout {
        // Lines, in the source's order, each with its words left to right.
        var lines: [TableDetector.Line] = []
        var keys: [LineKey] = []
        var lineOfKey: [LineKey: Int] = [:]
        for word in page.words where isUsable(word) {
            let key = LineKey(block: word.block, paragraph: word.paragraph, line: word.line)
            if let index = lineOfKey[key] {
                lines[index].words.append(word)
                lines[index].box = PageLayout.Box.union([lines[index].box, word.box])!
            } else {
                lineOfKey[key] = lines.count
                keys.append(key)
                lines.append(TableDetector.Line(words: [word], box: word.box))
            }
        }
        for index in lines.indices { lines[index].words.sort { $0.box.left < $1.box.left } }

        let tables = TableDetector(lines: lines, rules: page.rules).detect()
        var taken = [Bool](repeating: false, count: lines.count)
        // Each block with the position of its first line in the source, which breaks ties
        // of the reading order.
        var blocks: [(block: PageLayout.Block, first: Int)] = []
        for table in tables {
            for index in table.lines { taken[index] = true }
            blocks.append((.table(table.table), table.lines.min() ?? 0))
        }

        // Paragraphs: runs of the source's paragraph that no table interrupted.
        let bodySize = median(lines.indices.filter { !taken[$0] }.flatMap { lines[$0].words.map(\.size) })
        var current: [Int] = []
        func flush() {
            guard let first = current.first else { return }
            let paragraphLines = current.map { PageLayout.Line(words: lines[$0].words.map(Self.layoutWord)) }
            let size = median(current.flatMap { lines[$0].words.map(\.size) })
            var role = PageLayout.Paragraph.Role.body
            if let bodySize, let size, bodySize > 0, current.count <= headingMaxLines {
                let ratio = size / bodySize
                if ratio >= headingLevel1Ratio {
                    role = .heading(level: 1)
                } else if ratio >= headingRatio {
                    role = .heading(level: 2)
                }
            }
            blocks.append((.paragraph(PageLayout.Paragraph(lines: paragraphLines, role: role)), first))
            current = []
        }
        for index in lines.indices {
            if taken[index] {
                flush()
                continue
            }
            // A change of type size within the source's paragraph (a heading run into the
            // text under it) starts a new paragraph too.
            if let previous = current.last,
                keys[previous].paragraphKey != keys[index].paragraphKey
                    || sizeChanges(from: lines[previous], to: lines[index])
            {
                flush()
            }
            current.append(index)
        }
        flush()

        blocks.sort { $0.first < $1.first }
        let heights = lines.flatMap { $0.words.map(\.box.height) }
        let order = ReadingOrder.order(blocks.map(\.block.box), pageHeight: page.height, gutter: median(heights) ?? 1)
        return PageLayout(width: page.width, height: page.height, blocks: order.map { blocks[$0].block })
    }

    static func sizeChanges(from previous: TableDetector.Line, to line: TableDetector.Line) -> Bool {
        guard let before = median(previous.words.map(\.size)), let after = median(line.words.map(\.size)),
            before > 0, after > 0
        else { return false }
        return max(before, after) / min(before, after) >= headingRatio
    }

    struct LineKey: Hashable {
        var block: Int
        var paragraph: Int
        var line: Int
        var paragraphKey: [Int] { [block, paragraph] }
    }

    static func layoutWord(_ word: SourcePage.Word) -> PageLayout.Word {
        PageLayout.Word(text: word.text, box: word.box)
    }

    /// A word with text and a real box.
    static func isUsable(_ word: SourcePage.Word) -> Bool {
        let box = word.box
        return !word.text.allSatisfy(\.isWhitespace) && box.left.isFinite && box.top.isFinite && box.right.isFinite
            && box.bottom.isFinite && box.width > 0 && box.height > 0 && word.size.isFinite
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }
}
