import Foundation

/// The size limits of decoded pages, with the messages that name them.
///
/// Each limit is checked twice: from headers and PDF page sizes before anything is decoded
/// (so a decompression bomb never allocates), and again on every decoded image, whatever
/// the header said. The second check is the last word: header parsers and decoders have
/// disagreed before (a TIFF with two ImageWidth tags, of which libtiff reads the first; a
/// PDF page whose MediaBox is larger than the CropBox pdfinfo reports), and a page that
/// reaches the engine over the limits would cost what the limits exist to prevent.
struct PixelLimits: Sendable {
    /// Largest side of any image or rasterised page.
    var maxSide: Int
    var maxPagePixels: Int
    var maxDocumentPixels: Int

    init(_ configuration: EngineConfiguration) {
        maxSide = configuration.maxImageSide
        maxPagePixels = configuration.maxPagePixels
        maxDocumentPixels = configuration.maxDocumentPixels
    }

    static func megapixels(_ pixels: Int) -> String {
        pixels >= 10_000_000 ? "\(pixels / 1_000_000)" : String(format: "%.1f", Double(pixels) / 1e6)
    }

    func checkSides(width: Int, height: Int, _ what: String) throws(OCRFailure) {
        if width > maxSide || height > maxSide {
            throw .tooLarge("\(what) is \(width) x \(height) pixels; the limit is \(maxSide) x \(maxSide)")
        }
    }

    func checkPage(pixels: Int, _ what: String) throws(OCRFailure) {
        if pixels > maxPagePixels {
            throw .tooLarge(
                "\(what) is \(Self.megapixels(pixels)) megapixels once decoded; the limit is "
                    + "\(Self.megapixels(maxPagePixels)) megapixels per page")
        }
    }

    func checkDocument(pixels: Int) throws(OCRFailure) {
        if pixels > maxDocumentPixels {
            throw .tooLarge(
                "the document's pages are \(Self.megapixels(pixels)) megapixels together once decoded; the limit is "
                    + "\(Self.megapixels(maxDocumentPixels)) megapixels per document")
        }
    }

    /// Checks one decoded page of `width` x `height` against every limit, with `total` the
    /// pixels of the document's pages decoded before it; returns the new total.
    func checkDecoded(width: Int, height: Int, total: Int, _ what: String) throws(OCRFailure) -> Int {
        try checkSides(width: width, height: height, what)
        let pixels = ImageGeometry.area(width, height)
        try checkPage(pixels: pixels, what)
        let (sum, overflow) = total.addingReportingOverflow(pixels)
        try checkDocument(pixels: overflow ? Int.max : sum)
        return sum
    }
}
