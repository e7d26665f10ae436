/// Finds tables among a page's text lines, from where the words stand (and ruling lines
/// where the page has them): a run of text rows whose words fall into two or more
/// columns separated by wide gaps.
///
/// The rules, in the order they apply:
/// - Lines standing side by side form one text row; a row splits into segments at gaps
///   wider than ``gapFactor`` times the page's typical word height (wider than any space
///   between words, narrower than the gutter between table columns).
/// - A candidate table is a run of rows with two or more segments each, at most
///   ``maxRowGapFactor`` word heights apart; a one-segment row directly under a row
///   (closer than ``continuationGapFactor``) continues a wrapped cell.
/// - Columns are the x ranges the segments of the multi-segment rows cover, between
///   gutters that at most one row in ten crosses; a one-segment row that crosses columns
///   ends the table.
/// - It is a table when it has at least ``minRows`` multi-segment rows, two columns that
///   are filled in at least half of them, and, unless ruling lines cross it, no column
///   of prose (``proseWords`` words a line or more on average): two columns of running
///   text, or a term with its description, are not tables.
/// - Table rows: between horizontal ruling lines when the table has them, else a new row
///   at each multi-segment row, its wrapped continuations joined to it.
struct TableDetector {
    static let gapFactor = 1.2
    static let maxRowGapFactor = 2.5
    static let continuationGapFactor = 0.9
    static let minRows = 3
    static let proseWords = 5.0

    struct Line {
        var words: [SourcePage.Word]
        var box: PageLayout.Box
    }

    struct Detected {
        var table: PageLayout.Table
        /// Indices of the lines the table took.
        var lines: [Int]
    }

    let lines: [Line]
    let rules: [PageLayout.Box]
    /// The page's typical word height: the unit of every gap.
    let unit: Double

    init(lines: [Line], rules: [PageLayout.Box]) {
        self.lines = lines
        self.rules = rules
        let heights = lines.flatMap { $0.words.map(\.box.height) }.sorted()
        unit = heights.isEmpty ? 1 : max(1, heights[heights.count / 2])
    }

    struct Segment {
        var left: Double
        var right: Double
        var words: [SourcePage.Word]
    }

    struct Row {
        var lines: [Int]
        var box: PageLayout.Box
        var segments: [Segment]
    }

    func detect() -> [Detected] {
        let rows = self.rows()
        var tables: [Detected] = []
        var run: [Row] = []
        func close() {
            tables += evaluate(run)
            run = []
        }
        for row in rows {
            let gap = run.last.map { row.box.top - $0.box.bottom } ?? 0
            if row.segments.count >= 2 {
                if gap > Self.maxRowGapFactor * unit { close() }
                run.append(row)
            } else if !run.isEmpty && gap <= Self.continuationGapFactor * unit {
                run.append(row)
            } else {
                close()
            }
        }
        close()
        return tables
    }

    /// Lines grouped into rows (side by side, touching at most, overlapping vertically by
    /// half the lower one's height), top to bottom, each split into segments.
    func rows() -> [Row] {
        let order = lines.indices.sorted { lines[$0].box.centerY < lines[$1].box.centerY }
        var rows: [Row] = []
        for index in order {
            let line = lines[index]
            if var last = rows.last,
                line.box.verticalOverlap(last.box) >= 0.5 * min(line.box.height, last.box.height),
                last.lines.allSatisfy({
                    lines[$0].box.horizontalOverlap(line.box) <= 0.2 * min(lines[$0].box.width, line.box.width)
                })
            {
                last.lines.append(index)
                last.box = PageLayout.Box.union([last.box, line.box])!
                rows[rows.count - 1] = last
            } else {
                rows.append(Row(lines: [index], box: line.box, segments: []))
            }
        }
        for index in rows.indices {
            let words = rows[index].lines.flatMap { lines[$0].words }.sorted { $0.box.left < $1.box.left }
            var segments: [Segment] = []
            for word in words {
                if var last = segments.last, word.box.left - last.right <= Self.gapFactor * unit {
                    last.right = max(last.right, word.box.right)
                    last.words.append(word)
                    segments[segments.count - 1] = last
                } else {
                    segments.append(Segment(left: word.box.left, right: word.box.right, words: [word]))
                }
            }
            rows[index].segments = segments
        }
        return rows
    }

    /// The tables in a candidate run (none, one, or more when a row crossing the columns
    /// splits it).
    func evaluate(_ run: [Row]) -> [Detected] {
        // A run never starts or ends with continuation rows.
        guard let first = run.firstIndex(where: { $0.segments.count >= 2 }),
            let last = run.lastIndex(where: { $0.segments.count >= 2 })
        else { return [] }
        let trimmed = Array(run[first...])
        let multi = trimmed.filter { $0.segments.count >= 2 }
        guard multi.count >= Self.minRows else { return [] }
        let columns = Self.columns(multi.map(\.segments))
        guard columns.count >= 2 else { return [] }
        if let crossing = trimmed.firstIndex(where: { row in
            row.segments.count == 1 && columns.filter { Self.overlap(row.segments[0], $0) > 0 }.count > 1
        }) {
            return evaluate(Array(trimmed[..<crossing])) + evaluate(Array(trimmed[(crossing + 1)...]))
        }
        let rows = Array(trimmed[...(last - first)])
        let tableBox = PageLayout.Box.union(rows.map(\.box))!
        let separators = rowSeparators(in: tableBox)
        let ruled = separators.count >= 2
        // Fill and prose, per column, over the multi-segment rows.
        var filled = [Int](repeating: 0, count: columns.count)
        var words = [Int](repeating: 0, count: columns.count)
        var segments = [Int](repeating: 0, count: columns.count)
        for row in rows {
            var seen = Set<Int>()
            for segment in row.segments {
                let column = Self.column(of: segment, in: columns)
                words[column] += segment.words.count
                segments[column] += 1
                if row.segments.count >= 2 { seen.insert(column) }
            }
            for column in seen { filled[column] += 1 }
        }
        guard filled.filter({ 2 * $0 >= multi.count }).count >= 2 else { return [] }
        if !ruled {
            let prose = columns.indices.contains { segments[$0] > 0 && Double(words[$0]) / Double(segments[$0]) >= Self.proseWords }
            if prose { return [] }
        }
        // The cells.
        var cells: [[[String]]] = []
        var currentBand: Int?
        for row in rows {
            let startsRow: Bool
            if ruled {
                let band = separators.filter { $0 < row.box.centerY }.count
                startsRow = band != currentBand
                currentBand = band
            } else {
                startsRow = row.segments.count >= 2 || cells.isEmpty
            }
            if startsRow { cells.append([[String]](repeating: [], count: columns.count)) }
            for segment in row.segments {
                cells[cells.count - 1][Self.column(of: segment, in: columns)].append(
                    segment.words.map(\.text).joined(separator: " "))
            }
        }
        let table = PageLayout.Table(
            rows: cells.map { row in
                row.map { parts in
                    parts.reduce("") { text, part in
                        text.isEmpty
                            ? part
                            : PageLayout.Paragraph.isBrokenWord(before: text, after: part)
                                ? String(text.dropLast()) + part : text + " " + part
                    }
                }
            },
            box: tableBox, columns: columns)
        return [Detected(table: table, lines: rows.flatMap(\.lines))]
    }

    /// The y of each horizontal ruling line that crosses most of `box` (within a word
    /// height of it), top to bottom, a double line counted once.
    func rowSeparators(in box: PageLayout.Box) -> [Double] {
        let ys = rules.filter { rule in
            rule.width > rule.height && rule.horizontalOverlap(box) >= 0.8 * box.width
                && rule.centerY >= box.top - unit && rule.centerY <= box.bottom + unit
        }.map(\.centerY).sorted()
        var merged: [Double] = []
        for y in ys where merged.last.map({ y - $0 > unit / 2 }) ?? true { merged.append(y) }
        return merged
    }

    static func overlap(_ segment: Segment, _ column: ClosedRange<Double>) -> Double {
        min(segment.right, column.upperBound) - max(segment.left, column.lowerBound)
    }

    static func column(of segment: Segment, in columns: [ClosedRange<Double>]) -> Int {
        columns.indices.max { overlap(segment, columns[$0]) < overlap(segment, columns[$1]) } ?? 0
    }

    /// The columns of `rows`: the x ranges their segments cover, separated by gutters
    /// that at most one row in ten crosses (a long cell running into its neighbour does
    /// not merge two columns of a long table), left to right.
    static func columns(_ rows: [[Segment]]) -> [ClosedRange<Double>] {
        let edges = Array(Set(rows.flatMap { $0.flatMap { [$0.left, $0.right] } })).sorted()
        guard edges.count >= 2, edges.count <= 10_000 else { return [] }
        let allowance = rows.count / 10
        var columns: [ClosedRange<Double>] = []
        var start: Double?
        for (left, right) in zip(edges, edges.dropFirst()) {
            let crossing = rows.count { row in row.contains { $0.left <= left && $0.right >= right } }
            if crossing > allowance {
                if start == nil { start = left }
            } else if let open = start {
                columns.append(open...left)
                start = nil
            }
        }
        if let open = start, let last = edges.last { columns.append(open...last) }
        return columns
    }
}
