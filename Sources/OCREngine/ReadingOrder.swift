/// The order a reader takes a page's blocks in, across columns: Breuel's rules (T. M.
/// Breuel, "High Performance Document Layout Analysis", 2003), with two changes that real
/// pages need. Block `a` comes before `b` when
///
/// 1. their x ranges overlap and `a` is above `b`, or
/// 2. `a` lies left of `b` with a gutter between them (at least `gutter` wide), and no
///    third block between them vertically bridges the gutter: overlaps one of them and
///    reaches into the gutter. Breuel asks the third block to overlap both (a heading
///    spanning two columns separates the columns above it from those below); a block
///    reaching into the gutter counts too, so a heading set out into the left margin
///    (a manual page's "Lists" left of its indented text) is not taken for a column of
///    its own, read before the text above it.
///
/// So a column is read to its foot before the next column starts, and a block spanning
/// the columns is read after what stands above it in every column. Running heads and
/// feet (blocks in the top or bottom ``marginFraction`` of the page) come first and last,
/// left to right: Breuel's second rule would otherwise read a head's right-hand part
/// after the left column. The rest is a topological sort of the relations; where they
/// leave a choice, the source's own order (Tesseract's, or the text layer's) decides, so
/// a page the source already read correctly keeps its order.
enum ReadingOrder {
    /// Beyond this many blocks the source's order stands (the rules cost n^3).
    static let maxBlocks = 400
    static let marginFraction = 0.07

    /// Indices of `boxes` (given in the source's order) in reading order, on a page
    /// `pageHeight` tall.
    static func order(_ boxes: [PageLayout.Box], pageHeight: Double, gutter: Double) -> [Int] {
        guard boxes.count > 1, boxes.count <= maxBlocks else { return Array(boxes.indices) }
        let head = boxes.indices.filter { boxes[$0].bottom <= marginFraction * pageHeight }
        let foot = boxes.indices.filter {
            boxes[$0].top >= (1 - marginFraction) * pageHeight && boxes[$0].bottom > marginFraction * pageHeight
        }
        let margins = Set(head + foot)
        let body = boxes.indices.filter { !margins.contains($0) }
        let leftToRight = { (a: Int, b: Int) in boxes[a].left < boxes[b].left }
        return head.sorted(by: leftToRight) + sorted(body.map { boxes[$0] }, gutter: gutter).map { body[$0] }
            + foot.sorted(by: leftToRight)
    }

    private static func sorted(_ boxes: [PageLayout.Box], gutter: Double) -> [Int] {
        let count = boxes.count
        func overlapsHorizontally(_ a: PageLayout.Box, _ b: PageLayout.Box) -> Bool {
            a.horizontalOverlap(b) > 0.05 * min(a.width, b.width)
        }
        var successors = [[Int]](repeating: [], count: count)
        var predecessors = [Int](repeating: 0, count: count)
        for a in 0..<count {
            for b in 0..<count where a != b {
                let boxA = boxes[a]
                let boxB = boxes[b]
                var before = false
                if overlapsHorizontally(boxA, boxB) {
                    before = boxA.centerY < boxB.centerY
                } else if boxA.right + gutter <= boxB.left {
                    let upper = min(boxA.centerY, boxB.centerY)
                    let lower = max(boxA.centerY, boxB.centerY)
                    before = !(0..<count).contains { c in
                        let boxC = boxes[c]
                        guard c != a && c != b && boxC.centerY > upper && boxC.centerY < lower else { return false }
                        return (overlapsHorizontally(boxC, boxA) && boxC.right > boxB.left - gutter)
                            || (overlapsHorizontally(boxC, boxB) && boxC.left < boxA.right + gutter)
                    }
                }
                if before {
                    successors[a].append(b)
                    predecessors[b] += 1
                }
            }
        }
        // Kahn's algorithm, taking the earliest block in the source's order among those
        // ready; a cycle (overlapping blocks) is broken the same way.
        var done = [Bool](repeating: false, count: count)
        var result: [Int] = []
        result.reserveCapacity(count)
        while result.count < count {
            let next =
                (0..<count).first { !done[$0] && predecessors[$0] == 0 } ?? (0..<count).first { !done[$0] }!
            done[next] = true
            result.append(next)
            for successor in successors[next] { predecessors[successor] -= 1 }
        }
        return result
    }
}
