/// The order a reader takes a page's blocks in, across columns: Breuel's rules (T. M.
/// Breuel, "High Performance Document Layout Analysis", 2003). Block `a` comes before `b`
/// when
///
/// 1. their x ranges overlap and `a` is above `b`, or
/// 2. `a` lies entirely left of `b` and no third block between them vertically overlaps
///    both horizontally (a heading or figure spanning both columns separates the
///    columns above it from those below).
///
/// So a column is read to its foot before the next column starts, and a block spanning
/// the columns is read after what stands above it in every column. The order is a
/// topological sort of these relations; where they leave a choice, the source's own
/// order (Tesseract's, or the text layer's) decides, so a page the source already read
/// correctly keeps its order.
enum ReadingOrder {
    /// Beyond this many blocks the source's order stands (the rules cost n^3).
    static let maxBlocks = 400

    /// Indices of `boxes` (given in the source's order) in reading order.
    static func order(_ boxes: [PageLayout.Box]) -> [Int] {
        let count = boxes.count
        guard count > 1, count <= maxBlocks else { return Array(boxes.indices) }
        func overlapsHorizontally(_ a: PageLayout.Box, _ b: PageLayout.Box) -> Bool {
            a.horizontalOverlap(b) > 0.05 * min(a.width, b.width)
        }
        var successors = [[Int]](repeating: [], count: count)
        var predecessors = [Int](repeating: 0, count: count)
        for a in 0..<count {
            for b in 0..<count where a != b {
                let boxA = boxes[a], boxB = boxes[b]
                var before = false
                if overlapsHorizontally(boxA, boxB) {
                    before = boxA.centerY < boxB.centerY
                } else if boxA.centerX < boxB.centerX {
                    let upper = min(boxA.centerY, boxB.centerY), lower = max(boxA.centerY, boxB.centerY)
                    before = !(0..<count).contains { c in
                        c != a && c != b && boxes[c].centerY > upper && boxes[c].centerY < lower
                            && overlapsHorizontally(boxes[c], boxA) && overlapsHorizontally(boxes[c], boxB)
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
