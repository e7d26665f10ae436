import CTesseract
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A flag the recognising thread reads to stop early (task cancelled, server shutting down).
public final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func cancel() { value.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { value.load(ordering: .relaxed) }
}

/// Why a document could not be processed. The server maps each case to a task state.
public enum OCRFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a readable document, an unsupported type, or a wrong/missing password (-7).
    case invalidDocument(String)
    /// Beyond a size limit: image side, page count (-5).
    case tooLarge(String)
    /// The processing deadline passed (-8).
    case timeout(String)
    /// The task was cancelled (server shutdown).
    case cancelled
    /// A helper this server needs could not run at all (the office sandbox did not
    /// start): the server's fault, not the document's (-1); worth an operator's attention.
    case unavailable(String)
    /// Anything else (-1).
    case failed(String)

    public var description: String {
        switch self {
        case .invalidDocument(let detail), .tooLarge(let detail), .timeout(let detail), .unavailable(let detail),
            .failed(let detail):
            detail
        case .cancelled: "cancelled"
        }
    }
}

/// One Tesseract engine (`TessBaseAPI`) initialised for one language set.
///
/// Not thread-safe: an ``EngineSlot`` owns it and only the task holding the slot uses it,
/// on a thread of the engine pool's thread pool, never on the Swift cooperative pool.
final class TesseractAPI {
    let handle: OpaquePointer
    let selection: LanguageSelection

    init(selection: LanguageSelection, dataPath: String) throws(OCRFailure) {
        guard let handle = TessBaseAPICreate() else { throw .failed("Tesseract could not be created") }
        if TessBaseAPIInit3(handle, dataPath, selection.tesseractLanguage) != 0 {
            TessBaseAPIDelete(handle)
            throw .failed("Tesseract could not load language data '\(selection.tesseractLanguage)' from \(dataPath)")
        }
        // Tesseract's debug chatter goes to stderr otherwise; the server logs JSON.
        _ = TessBaseAPISetVariable(handle, "debug_file", "/dev/null")
        // The API's default is one uniform block of text (PSM 6); the `tesseract` command
        // sets automatic page segmentation (PSM 3), which finds columns, headings and
        // indented paragraphs of real pages.
        TessBaseAPISetPageSegMode(handle, PSM_AUTO)
        // Sauvola's local thresholding instead of Tesseract's default global Otsu: a page
        // photographed under uneven light (darker towards one corner) keeps its text in
        // the dark part, where one global threshold turns the background black and the
        // text there is lost (CER 0.093 -> 0.006 on the phone-like pages of
        // scripts/bench-ocr-quality, 0.0018 -> 0.0020 on the clean ones).
        _ = TessBaseAPISetVariable(handle, "thresholding_method", "2")
        if selection.digitsOnly {
            _ = TessBaseAPISetVariable(handle, "tessedit_char_whitelist", OCRLanguage.digitsWhitelist)
        }
        self.handle = handle
        self.selection = selection
    }

    deinit {
        TessBaseAPIEnd(handle)
        TessBaseAPIDelete(handle)
    }

    /// Recognises one page: its words as Tesseract grouped them, and the ruling lines of
    /// the image it binarised; adds the page to `renderer` (the searchable PDF) when given.
    func recognize(
        pix: PixPointer, resolution: Int32, deadline: ContinuousClock.Instant,
        cancel: CancelFlag, renderer: OpaquePointer?
    ) throws(OCRFailure) -> SourcePage {
        defer { TessBaseAPIClear(handle) }
        TessBaseAPISetImage2(handle, pix)
        TessBaseAPISetSourceResolution(handle, resolution)
        // SetImage also keeps a copy as the "input image" that the PDF renderer embeds;
        // without an input name the renderer encodes that copy (it never reads a file).
        TessBaseAPISetInputName(handle, nil)

        guard let monitor = TessMonitorCreate() else { throw .failed("Tesseract monitor could not be created") }
        defer { TessMonitorDelete(monitor) }
        let remaining = deadline - ContinuousClock.now
        let remainingMilliseconds = max(1, min(Int64(Int32.max), remaining.milliseconds))
        TessMonitorSetDeadlineMSecs(monitor, Int32(remainingMilliseconds))
        TessMonitorSetCancelFunc(monitor) { this, _ in
            guard let this else { return false }
            return Unmanaged<CancelFlag>.fromOpaque(this).takeUnretainedValue().isCancelled
        }
        let status = withExtendedLifetime(cancel) { () -> Int32 in
            TessMonitorSetCancelThis(monitor, Unmanaged.passUnretained(cancel).toOpaque())
            return TessBaseAPIRecognize(handle, monitor)
        }
        if cancel.isCancelled { throw .cancelled }
        if ContinuousClock.now >= deadline { throw .timeout("processing timed out during recognition") }
        guard status == 0 else { throw .failed("Tesseract recognition failed (status \(status))") }

        var page = SourcePage(
            width: Double(pixGetWidth(pix)), height: Double(pixGetHeight(pix)), words: words())
        if let binary = TessBaseAPIGetThresholdedImage(handle) {
            page.rules = RulingLines.find(in: binary)
            Leptonica.destroy(binary)
        }
        if let renderer, TessResultRendererAddImage(renderer, handle) == 0 {
            throw .failed("Tesseract's PDF renderer could not add the page")
        }
        return page
    }

    /// The recognised words in Tesseract's order, numbered by block, paragraph and line,
    /// each with its line's type size (Tesseract's estimate from the line's x-height,
    /// ascenders and descenders, which the LSTM engine provides too).
    private func words() -> [SourcePage.Word] {
        guard let iterator = TessBaseAPIGetIterator(handle) else { return [] }
        defer { TessResultIteratorDelete(iterator) }
        let pageIterator = TessResultIteratorGetPageIterator(iterator)
        var words: [SourcePage.Word] = []
        var block = 0
        var paragraph = 0
        var line = 0
        repeat {
            if TessPageIteratorIsAtBeginningOf(pageIterator, RIL_BLOCK) != 0 { block += 1 }
            if TessPageIteratorIsAtBeginningOf(pageIterator, RIL_PARA) != 0 { paragraph += 1 }
            if TessPageIteratorIsAtBeginningOf(pageIterator, RIL_TEXTLINE) != 0 { line += 1 }
            guard let cText = TessResultIteratorGetUTF8Text(iterator, RIL_WORD) else { continue }
            let text = String(cString: cText)
            TessDeleteText(cText)
            var left: Int32 = 0
            var top: Int32 = 0
            var right: Int32 = 0
            var bottom: Int32 = 0
            guard TessPageIteratorBoundingBox(pageIterator, RIL_WORD, &left, &top, &right, &bottom) != 0 else { continue }
            var bold: Int32 = 0
            var italic: Int32 = 0
            var underlined: Int32 = 0
            var monospace: Int32 = 0
            var serif: Int32 = 0
            var smallCaps: Int32 = 0
            var pointSize: Int32 = 0
            var fontID: Int32 = 0
            _ = TessResultIteratorWordFontAttributes(
                iterator, &bold, &italic, &underlined, &monospace, &serif, &smallCaps, &pointSize, &fontID)
            words.append(
                SourcePage.Word(
                    text: text,
                    box: PageLayout.Box(left: Double(left), top: Double(top), right: Double(right), bottom: Double(bottom)),
                    block: block, paragraph: paragraph, line: line,
                    size: pointSize > 0 ? Double(pointSize) : Double(bottom - top)))
        } while TessResultIteratorNext(iterator, RIL_WORD) != 0
        return words
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Tesseract's searchable PDF writer (`TessPDFRendererCreate`): page image plus an
/// invisible text layer.
final class PDFRenderer {
    let handle: OpaquePointer
    let outputBase: String

    /// Writes `outputBase + ".pdf"`.
    init(outputBase: String, dataPath: String, title: String) throws(OCRFailure) {
        guard let handle = TessPDFRendererCreate(outputBase, dataPath, 0) else {
            throw .failed("Tesseract's PDF renderer could not be created (is pdf.ttf in \(dataPath)?)")
        }
        guard TessResultRendererBeginDocument(handle, title) != 0 else {
            TessDeleteResultRenderer(handle)
            throw .failed("Tesseract's PDF renderer could not open \(outputBase).pdf")
        }
        self.handle = handle
        self.outputBase = outputBase
    }

    func finish() throws(OCRFailure) {
        guard TessResultRendererEndDocument(handle) != 0 else {
            throw .failed("Tesseract's PDF renderer could not finish the document")
        }
    }

    deinit { TessDeleteResultRenderer(handle) }
}

/// Page images through Leptonica.
/// A Leptonica image.
typealias PixPointer = UnsafeMutablePointer<Pix>

enum Leptonica {
    /// Reads one image (page `index` of a TIFF), without a colormap, as 8-bit grey when it
    /// is an RGB image without colour (see ``greyIfColourless(_:)``). The caller destroys it.
    static func read(path: String, tiffIndex: Int?) -> PixPointer? {
        let pix: PixPointer?
        if let tiffIndex { pix = pixReadTiff(path, Int32(tiffIndex)) } else { pix = pixRead(path) }
        guard var pix else { return nil }
        if pixGetColormap(pix) != nil, let converted = pixRemoveColormap(pix, Int32(REMOVE_CMAP_BASED_ON_SRC)) {
            var old: PixPointer? = pix
            pixDestroy(&old)
            pix = converted
        }
        if let grey = greyIfColourless(pix) {
            var old: PixPointer? = pix
            pixDestroy(&old)
            pix = grey
        }
        return pix
    }

    /// The 8-bit grey twin of a 32-bit RGB image whose every pixel has red = green = blue
    /// (what pdftoppm makes of a black-and-white page, and most scans saved as RGB), else
    /// nil (colour, alpha, or not 32-bit).
    ///
    /// Lossless, and Tesseract's results stay the same: it turns an RGB page into grey
    /// itself (luminance 0.3 R + 0.5 G + 0.2 B, which is R when the three are equal) and
    /// binarises each channel alike, so the grey twin reaches the same pixels. What goes is
    /// the work on three identical channels and the copies of a 4-byte-per-pixel page
    /// (an A4 page at 300 dpi is 35 MB as RGB, 9 MB as grey) in decoding, thresholding and
    /// the page copy Tesseract keeps; the searchable PDF embeds the same-looking grey image.
    static func greyIfColourless(_ pix: PixPointer) -> PixPointer? {
        guard pixGetDepth(pix) == 32, pixGetSpp(pix) == 3,
            let red = pixGetRGBComponent(pix, Int32(COLOR_RED))
        else { return nil }
        let colourless = [COLOR_GREEN, COLOR_BLUE].allSatisfy { component in
            guard let other = pixGetRGBComponent(pix, Int32(component)) else { return false }
            defer { destroy(other) }
            var same: Int32 = 0
            return pixEqual(red, other, &same) == 0 && same == 1
        }
        guard colourless else {
            destroy(red)
            return nil
        }
        _ = pixCopyResolution(red, pix)
        return red
    }

    static func destroy(_ pix: PixPointer) {
        var pointer: PixPointer? = pix
        pixDestroy(&pointer)
    }

    /// The image's resolution if credible, else 300 dpi.
    static func resolution(_ pix: PixPointer) -> Int32 {
        let yres = pixGetYRes(pix)
        return (70...2400).contains(yres) ? yres : 300
    }
}
