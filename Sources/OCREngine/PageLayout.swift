/// What a page holds, in reading order: paragraphs (headings among them) and tables, each
/// with its lines and words and where they stand on the page. Made by ``LayoutAnalyzer``
/// from Tesseract's result or from a PDF's own text layer; every output format is written
/// from it.
///
/// Coordinates are in the page's own units (pixels of the recognised image, or PDF points
/// for a text layer), origin at the top left, y growing downwards. Callers outside the
/// engine read layouts; only the engine makes them.
public struct PageLayout: Sendable, Equatable {
    public struct Box: Sendable, Equatable {
        public var left: Double
        public var top: Double
        public var right: Double
        public var bottom: Double

        public var width: Double { right - left }
        public var height: Double { bottom - top }
        public var centerX: Double { (left + right) / 2 }
        public var centerY: Double { (top + bottom) / 2 }

        /// The smallest box holding all of `boxes`; nil for none.
        static func union(_ boxes: some Sequence<Box>) -> Box? {
            boxes.reduce(nil) { sum, box in
                guard let sum else { return box }
                return Box(
                    left: min(sum.left, box.left), top: min(sum.top, box.top), right: max(sum.right, box.right),
                    bottom: max(sum.bottom, box.bottom))
            }
        }

        /// Length of the overlap of the two boxes' x ranges (negative: the gap between them).
        func horizontalOverlap(_ other: Box) -> Double { min(right, other.right) - max(left, other.left) }
        func verticalOverlap(_ other: Box) -> Double { min(bottom, other.bottom) - max(top, other.top) }
    }

    public struct Word: Sendable, Equatable {
        public var text: String
        public var box: Box

    }

    public struct Line: Sendable, Equatable {
        public var words: [Word]
        public var box: Box { Box.union(words.map(\.box)) ?? Box(left: 0, top: 0, right: 0, bottom: 0) }
        public var text: String { words.map(\.text).joined(separator: " ") }

    }

    public struct Paragraph: Sendable, Equatable {
        public enum Role: Sendable, Equatable {
            case body
            /// A heading, level 1 (largest) or 2, judged by its size against the page's text.
            case heading(level: Int)
        }

        public var lines: [Line]
        public var role: Role = .body
        public var box: Box { Box.union(lines.map(\.box)) ?? Box(left: 0, top: 0, right: 0, bottom: 0) }

        /// The lines as one run of text: a word broken with a hyphen at a line end (a
        /// lower-case letter, "-", and a lower-case letter starting the next line) is joined.
        public var text: String {
            var result = ""
            for line in lines {
                let text = line.text
                if result.isEmpty {
                    result = text
                } else if Self.isBrokenWord(before: result, after: text) {
                    result.removeLast()
                    result += text
                } else {
                    result += " " + text
                }
            }
            return result
        }

        static func isBrokenWord(before: String, after: String) -> Bool {
            guard before.hasSuffix("-"), let next = after.first, next.isLowercase else { return false }
            let beforeHyphen = before.dropLast().last
            return beforeHyphen?.isLowercase == true
        }
    }

    public struct Table: Sendable, Equatable {
        /// Rows of cells, every row as long as the widest; a cell's text is its lines joined.
        public var rows: [[String]]
        public var box: Box
        /// The x ranges of the columns, left to right.
        public var columns: [ClosedRange<Double>]

        public var columnCount: Int { rows.map(\.count).max() ?? 0 }
    }

    public enum Block: Sendable, Equatable {
        case paragraph(Paragraph)
        case table(Table)

        public var box: Box {
            switch self {
            case .paragraph(let paragraph): paragraph.box
            case .table(let table): table.box
            }
        }
    }

    public var width: Double
    public var height: Double
    public var blocks: [Block]

    /// The page as plain text in reading order: a paragraph's lines as lines, a blank line
    /// between blocks, a table's cells separated by tabs, one row a line.
    public var text: String {
        blocks.map { block in
            switch block {
            case .paragraph(let paragraph):
                paragraph.lines.map(\.text).joined(separator: "\n")
            case .table(let table):
                table.rows.map { $0.joined(separator: "\t") }.joined(separator: "\n")
            }
        }.joined(separator: "\n\n") + (blocks.isEmpty ? "" : "\n")
    }

    /// A page of plain text (no positions): one paragraph per run of non-blank lines.
    public static func plain(_ text: String) -> PageLayout {
        var blocks: [Block] = []
        var lines: [Line] = []
        var y = 0.0
        func flush() {
            if !lines.isEmpty { blocks.append(.paragraph(Paragraph(lines: lines))) }
            lines = []
        }
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let words = raw.split(whereSeparator: \.isWhitespace)
            if words.isEmpty {
                flush()
            } else {
                var x = 0.0
                lines.append(
                    Line(
                        words: words.map { word in
                            defer { x += Double(word.count + 1) }
                            return Word(text: String(word), box: Box(left: x, top: y, right: x + Double(word.count), bottom: y + 1))
                        }))
            }
            y += 1.5
        }
        flush()
        return PageLayout(width: 100, height: max(1, y), blocks: blocks)
    }
}
