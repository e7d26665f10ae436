import CTesseract
import Foundation

/// Turns a page upright and straight before recognition, as OCRmyPDF's `--rotate-pages`
/// and `--deskew` do:
///
/// - orientation: Tesseract's orientation and script detection (OSD, Debian's
///   `tesseract-ocr-osd`) finds whether the text runs at 0, 90, 180 or 270 degrees; the
///   page is turned when OSD's confidence reaches
///   ``EngineConfiguration/minOrientationConfidence`` (OSD is confidently wrong on pages
///   with little text, so a low confidence leaves the page as it is);
/// - skew: Leptonica's `pixFindSkew` measures the angle of the text lines (up to about 7
///   degrees, on the binarised page OSD used) and the page is rotated back when the
///   measurement is confident (3 or more, Leptonica's own rule in `pixDeskew`) and the
///   angle at least 0.1 degree.
///
/// The corrected page is what Tesseract reads and what the searchable PDF shows.
struct PageCorrection {
    /// How a page was corrected, for logs and tests.
    struct Applied: Equatable {
        /// Clockwise quarter turns applied (0...3).
        var quarterTurns: Int = 0
        /// OSD's confidence in the orientation it found (0 without OSD).
        var orientationConfidence: Double = 0
        /// Degrees the page was rotated by to straighten it (0: not).
        var deskewDegrees: Double = 0
    }

    static let minDeskewConfidence: Float = 3
    static let minDeskewDegrees: Float = 0.1

    /// The OSD engine, nil when the server has no `osd.traineddata` (then pages are only
    /// straightened).
    let osd: TesseractAPI?
    let minOrientationConfidence: Double
    let deskew: Bool

    /// The corrected page (a new image the caller destroys), or nil when `pix` is right as
    /// it is; and what was done.
    func correct(_ pix: PixPointer, resolution: Int32) -> (PixPointer?, Applied) {
        var applied = Applied()
        var current: PixPointer? = nil
        var binary: PixPointer? = nil
        defer { if let binary { Leptonica.destroy(binary) } }
        if let osd {
            TessBaseAPISetImage2(osd.handle, pix)
            TessBaseAPISetSourceResolution(osd.handle, resolution)
            var degrees: Int32 = 0
            var confidence: Float = 0
            var scriptName: UnsafePointer<CChar>? = nil
            var scriptConfidence: Float = 0
            // OSD's degrees are how far the page was turned clockwise; turning it back is
            // the rest of the full turn.
            if TessBaseAPIDetectOrientationScript(osd.handle, &degrees, &confidence, &scriptName, &scriptConfidence) != 0 {
                applied.orientationConfidence = Double(confidence)
                let turns = Int((360 - degrees) % 360 / 90)
                if turns != 0, Double(confidence) >= minOrientationConfidence {
                    applied.quarterTurns = turns
                    current = pixRotateOrth(pix, Int32(turns))
                }
            }
            if deskew, let thresholded = TessBaseAPIGetThresholdedImage(osd.handle) {
                if applied.quarterTurns != 0 {
                    binary = pixRotateOrth(thresholded, Int32(applied.quarterTurns))
                    Leptonica.destroy(thresholded)
                } else {
                    binary = thresholded
                }
            }
            TessBaseAPIClear(osd.handle)
        }
        if deskew {
            let source = current ?? pix
            if binary == nil { binary = pixConvertTo1(source, 130) }
            var angle: Float = 0
            var confidence: Float = 0
            if let binary, pixFindSkew(binary, &angle, &confidence) == 0, confidence >= Self.minDeskewConfidence,
                abs(angle) >= Self.minDeskewDegrees,
                let straight = pixRotate(
                    source, angle * .pi / 180, Int32(L_ROTATE_AREA_MAP), Int32(L_BRING_IN_WHITE), 0, 0)
            {
                applied.deskewDegrees = Double(angle)
                if let current { Leptonica.destroy(current) }
                current = straight
            }
        }
        if let current { _ = pixCopyResolution(current, pix) }
        return (current, applied)
    }
}
