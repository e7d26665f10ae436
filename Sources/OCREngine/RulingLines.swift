import CTesseract

/// The ruling lines of a binarised page (table borders, rules under headers): what is left
/// after a morphological opening with a long, one-pixel-thin line, horizontal then
/// vertical. Text never survives an opening this long; a long underline does, and counts
/// only where it crosses a table's width.
enum RulingLines {
    /// A rule is at least this fraction of the page's width (or height) long...
    static let minLengthFraction = 1.0 / 25
    /// ...and at most this fraction of it thick (a dark photograph is not a line).
    static let maxThicknessFraction = 1.0 / 150

    /// Boxes of the horizontal and vertical rules of `binary` (1 bit per pixel).
    static func find(in binary: PixPointer) -> [PageLayout.Box] {
        guard pixGetDepth(binary) == 1 else { return [] }
        let width = pixGetWidth(binary)
        let height = pixGetHeight(binary)
        let horizontal = max(20, Int32(Double(width) * minLengthFraction))
        let vertical = max(20, Int32(Double(height) * minLengthFraction))
        let thickness = max(4, Double(max(width, height)) * maxThicknessFraction)
        return components(binary, hsize: horizontal, vsize: 1).filter { $0.height <= thickness }
            + components(binary, hsize: 1, vsize: vertical).filter { $0.width <= thickness }
    }

    /// Bounding boxes of the connected components left by opening `binary` with an
    /// `hsize` x `vsize` brick.
    private static func components(_ binary: PixPointer, hsize: Int32, vsize: Int32) -> [PageLayout.Box] {
        guard let opened = pixOpenBrick(nil, binary, hsize, vsize) else { return [] }
        defer { Leptonica.destroy(opened) }
        guard let boxes = pixConnComp(opened, nil, 8) else { return [] }
        defer {
            var pointer: UnsafeMutablePointer<Boxa>? = boxes
            boxaDestroy(&pointer)
        }
        let count = boxaGetCount(boxes)
        // A page of noise would give thousands: no table has that many rules.
        guard count <= 2000 else { return [] }
        var result: [PageLayout.Box] = []
        for index in 0..<count {
            var x: Int32 = 0
            var y: Int32 = 0
            var w: Int32 = 0
            var h: Int32 = 0
            guard boxaGetBoxGeometry(boxes, index, &x, &y, &w, &h) == 0 else { continue }
            result.append(PageLayout.Box(left: Double(x), top: Double(y), right: Double(x + w), bottom: Double(y + h)))
        }
        return result
    }
}
