/// How much of each PDF page images cover, from `pdfimages -list`: every image drawn on a
/// page with its pixel size and its resolution there (x-ppi, y-ppi), so its drawn area is
/// width / x-ppi by height / y-ppi inches. Masks and soft masks go with an image and are
/// not counted again; stencil masks are drawn shapes (scans stored as 1-bit masks) and
/// are.
enum PDFImageCoverage {
    /// Drawn image area in square points, by page number.
    static func areas(pdfimagesList output: String) -> [Int: Double] {
        var areas: [Int: Double] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size
            // ratio; the object ID is "[inline]" for inline images, one field instead of two,
            // so the resolutions are read from the end.
            guard fields.count >= 14, let page = Int(fields[0]), let width = Double(fields[3]),
                let height = Double(fields[4]), let xppi = Double(fields[fields.count - 4]),
                let yppi = Double(fields[fields.count - 3]), xppi > 0, yppi > 0,
                fields[2] == "image" || fields[2] == "stencil"
            else { continue }
            let area = (width / xppi * 72) * (height / yppi * 72)
            guard area.isFinite, area > 0 else { continue }
            areas[page, default: 0] += area
        }
        return areas
    }

    /// The fraction (0...1) of a `width` x `height` pt page that `area` covers.
    static func fraction(area: Double, width: Double, height: Double) -> Double {
        guard width > 0, height > 0 else { return area > 0 ? 1 : 0 }
        return min(1, area / (width * height))
    }
}
