import CTesseract
import Foundation

/// What kind of document a file is, judged by its first bytes (never by its name).
public enum DocumentKind: Sendable, Equatable {
    case image
    case pdf
    /// A ZIP (docx/xlsx/pptx) or OLE2 (doc/xls/ppt) container; `fileExtension` is the
    /// best guess LibreOffice gets to see.
    case office(fileExtension: String)
    case unknown

    public static func detect(path: String) -> DocumentKind {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .unknown }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 1024)) ?? Data())
        func starts(_ bytes: [UInt8]) -> Bool { head.count >= bytes.count && Array(head.prefix(bytes.count)) == bytes }
        if starts([0x89, 0x50, 0x4E, 0x47]) || starts([0xFF, 0xD8, 0xFF]) || starts(Array("GIF8".utf8))
            || starts(Array("BM".utf8)) || starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A])
            || (starts(Array("RIFF".utf8)) && head.count >= 12 && Array(head[8..<12]) == Array("WEBP".utf8))
        {
            return .image
        }
        // PDF: the header may follow a little junk, as readers allow.
        if let range = head.firstRange(of: Array("%PDF-".utf8)), range.lowerBound < 1024 { return .pdf }
        if starts([0x50, 0x4B, 0x03, 0x04]) {
            let all = (try? Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)) ?? Data()
            func contains(_ name: String) -> Bool { all.range(of: Data(name.utf8)) != nil }
            if contains("word/") { return .office(fileExtension: "docx") }
            if contains("xl/") { return .office(fileExtension: "xlsx") }
            if contains("ppt/") { return .office(fileExtension: "pptx") }
            return .office(fileExtension: "zip")
        }
        if starts([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return .office(fileExtension: "doc") }
        return .unknown
    }
}

/// One page of a document.
enum PageSource: Sendable {
    /// Recognised from an image file (page `tiffIndex` of a TIFF).
    case image(path: String, tiffIndex: Int?)
    /// Recognised from the PDF page rasterised at `dpi`.
    case pdf(path: String, page: Int, dpi: Int)
    /// Taken from the PDF page's own text layer (see ``TextLayerJudge``), never rasterised.
    case textLayer(path: String, page: Int, words: SourcePage)

    var isTextLayer: Bool {
        if case .textLayer = self { return true }
        return false
    }
}

/// A document whose pages are known (decrypted, converted from an office format and
/// counted), ready for an engine. Made by ``OCREnginePool/prepare(_:cancel:)`` outside
/// the engine slots.
public struct PreparedDocument: Sendable {
    let pages: [PageSource]
    public var pageCount: Int { pages.count }
    /// Pages whose own text layer stands in for recognition.
    public var textLayerPageCount: Int { pages.filter(\.isTextLayer).count }
}

/// A page decoded into memory, with the raster file it came from (removed with it).
final class LoadedPage: @unchecked Sendable {
    let pix: PixPointer
    let resolution: Int32
    let rasterFile: String?

    init(pix: PixPointer, resolution: Int32, rasterFile: String?) {
        self.pix = pix
        self.resolution = resolution
        self.rasterFile = rasterFile
    }

    deinit {
        Leptonica.destroy(pix)
        if let rasterFile { try? FileManager.default.removeItem(atPath: rasterFile) }
    }
}

/// Pages rasterised and decoded ahead of the engine by a producer thread, at most
/// `capacity` pages ahead, so pdftoppm and image decoding never run on an engine's time.
final class PageFeed: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Int: Result<LoadedPage, OCRFailure>] = [:]
    private var consumed = 0
    private var stopped = false
    private var producerFinished = false
    let capacity: Int
    /// Cancels the producer's helper programs once the consumer stops.
    let producerCancel = CancelFlag()

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Producer: waits until page `index` may be made; false once the consumer stopped.
    func waitForRoom(index: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && index - consumed >= capacity { condition.wait() }
        return !stopped
    }

    /// Producer: hands over page `index`.
    func put(_ index: Int, _ result: Result<LoadedPage, OCRFailure>) {
        condition.lock()
        if !stopped { ready[index] = result }
        condition.broadcast()
        condition.unlock()
    }

    func producerDone() {
        condition.lock()
        producerFinished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer: page `index`, waiting for it; checks `cancel` and the deadline every 100 ms.
    func take(_ index: Int, cancel: CancelFlag, deadline: ContinuousClock.Instant) throws(OCRFailure) -> LoadedPage {
        condition.lock()
        defer { condition.unlock() }
        while ready[index] == nil {
            if cancel.isCancelled { throw .cancelled }
            if ContinuousClock.now >= deadline { throw .timeout("processing timed out while rendering a page") }
            if producerFinished { throw .failed("page \(index + 1) was never rendered") }
            _ = condition.wait(until: Date().addingTimeInterval(0.1))
        }
        let result = ready.removeValue(forKey: index)!
        consumed = index + 1
        condition.broadcast()
        return try result.get()
    }

    /// Consumer: no more pages wanted; frees what was made ahead and waits for the producer.
    func stop() {
        producerCancel.cancel()
        condition.lock()
        stopped = true
        ready.removeAll()
        condition.broadcast()
        while !producerFinished { condition.wait() }
        condition.unlock()
    }
}

/// The planning of one job (what its pages are), run on a preparation thread, outside
/// the engine slots.
struct DocumentPlanner {
    let job: OCRJob
    let configuration: EngineConfiguration
    let cancel: CancelFlag

    func prepare() throws(OCRFailure) -> PreparedDocument {
        try FileManager.default.createDirectory(at: job.workDirectory)
        return PreparedDocument(pages: try plan())
    }

    // MARK: Planning: what the pages are

    private func plan() throws(OCRFailure) -> [PageSource] {
        let path = job.input.path
        switch DocumentKind.detect(path: path) {
        case .image:
            return try planImage(path: path)
        case .pdf:
            return try planPDF(path: path)
        case .office(let fileExtension):
            return try planPDF(path: convertOffice(path: path, fileExtension: fileExtension))
        case .unknown:
            throw .invalidDocument(
                "not a readable document: the file is none of pdf, png, jpg, gif, bmp, tiff, webp, doc(x), xls(x), ppt(x)")
        }
    }

    private func planImage(path: String) throws(OCRFailure) -> [PageSource] {
        // Sizes come from the headers alone: nothing is decoded before the limits pass.
        guard let geometry = ImageGeometry.read(path: path, maxPages: configuration.maxPages) else {
            throw .invalidDocument("not a readable image (damaged or unsupported encoding)")
        }
        if geometry.pages.count > configuration.maxPages {
            throw .tooLarge("document has more than \(configuration.maxPages) pages; the limit is \(configuration.maxPages)")
        }
        let limits = PixelLimits(configuration)
        var total = 0
        for (index, page) in geometry.pages.enumerated() {
            let what = "image\(Self.pageLabel(index, geometry.pages.count))"
            try limits.checkSides(width: page.width, height: page.height, what)
            try limits.checkPage(pixels: page.decodedPixels, what)
            total += page.decodedPixels
        }
        try limits.checkDocument(pixels: total)
        let isTIFF = DocumentKind.isTIFF(path: path)
        return geometry.pages.indices.map { .image(path: path, tiffIndex: isTIFF ? $0 : nil) }
    }

    private static func pageLabel(_ index: Int, _ count: Int) -> String { count > 1 ? " page \(index + 1)" : "" }

    private func planPDF(path originalPath: String) throws(OCRFailure) -> [PageSource] {
        var path = originalPath
        // Encrypted PDFs are decrypted by qpdf with the password in a private file, so the
        // password never appears on a command line.
        let encrypted = try Subprocess.run(
            "qpdf", ["--is-encrypted", path], deadline: job.deadline, cancel: cancel, limits: configuration.helperLimits)
        if encrypted.status == 0 {
            let passwordFile = job.workDirectory.appendingPathComponent("password").path
            let created = FileManager.default.createFile(
                atPath: passwordFile, contents: Data((job.password ?? "").utf8), attributes: [.posixPermissions: 0o600])
            guard created else { throw .failed("could not write a scratch file") }
            defer { try? FileManager.default.removeItem(atPath: passwordFile) }
            let decrypted = job.workDirectory.appendingPathComponent("decrypted.pdf").path
            let result = try Subprocess.run(
                "qpdf", ["--password-file=" + passwordFile, "--decrypt", path, decrypted],
                deadline: job.deadline, cancel: cancel, limits: configuration.helperLimits)
            if result.status != 0 && result.status != 3 {
                if result.stderr.localizedCaseInsensitiveContains("password") {
                    throw .invalidDocument(
                        job.password == nil || job.password == ""
                            ? "the PDF is password-protected and no password was given"
                            : "the PDF is password-protected and the password is wrong")
                }
                throw .invalidDocument("not a readable PDF (\(Self.firstLine(result.stderr)))")
            }
            path = decrypted
        }

        let info = try Subprocess.run(
            "pdfinfo", [path], deadline: job.deadline, cancel: cancel, limits: configuration.helperLimits)
        guard info.status == 0 else {
            if info.stderr.contains("Incorrect password") {
                throw .invalidDocument("the PDF is password-protected and the password is missing or wrong")
            }
            throw .invalidDocument("not a readable PDF (\(Self.firstLine(info.stderr)))")
        }
        guard let count = Self.field("Pages", in: info.stdout).flatMap({ Int($0) }), count > 0 else {
            throw .invalidDocument("the PDF has no pages")
        }
        if count > configuration.maxPages {
            throw .tooLarge("document has \(count) pages; the limit is \(configuration.maxPages)")
        }
        let sizes = try Subprocess.run(
            "pdfinfo", ["-f", "1", "-l", String(count), path], deadline: job.deadline, cancel: cancel,
            limits: configuration.helperLimits)
        var pageSizes: [Int: (width: Double, height: Double)] = [:]
        for line in sizes.stdout.split(separator: "\n") where line.hasPrefix("Page") && line.contains(" size:") {
            // "Page    1 size: 612 x 792 pts (letter)"
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 6, let page = Int(parts[1]), let width = Double(parts[3]),
                let height = Double(parts[5]), width.isFinite, height.isFinite
            else { continue }
            pageSizes[page] = (max(1, width), max(1, height))
        }
        let textLayers = job.forceOCR ? [:] : try usableTextLayers(path: path, count: count)
        var pages: [PageSource] = []
        var total = 0
        let limits = PixelLimits(configuration)
        for page in 1...count {
            if let words = textLayers[page] {
                pages.append(.textLayer(path: path, page: page, words: words))
                continue
            }
            // A page pdfinfo gave no size for counts as A4.
            let (width, height) = pageSizes[page] ?? (595, 842)
            let dpi = Self.rasterDPI(
                width: width, height: height, preferred: configuration.rasterDPI,
                maxSide: configuration.maxRasterSide, maxPixels: configuration.maxPagePixels)
            let pixels = Self.rasterPixels(width: width, height: height, dpi: dpi)
            try limits.checkPage(pixels: pixels, "page \(page) of the PDF (\(Int(width)) x \(Int(height)) pt at \(dpi) dpi)")
            total += pixels
            pages.append(.pdf(path: path, page: page, dpi: dpi))
        }
        try limits.checkDocument(pixels: total)
        return pages
    }

    /// A text layer larger than this (pdftotext's XHTML) is not read: the pages are
    /// recognised from their images instead.
    static let maxTextLayerBytes = 64 << 20

    /// The pages whose own text layer serves instead of recognition (see
    /// ``TextLayerJudge``), by page number. None when poppler cannot read the layer or the
    /// images, or the layer is over ``maxTextLayerBytes`` or poppler's limits.
    private func usableTextLayers(path: String, count: Int) throws(OCRFailure) -> [Int: SourcePage] {
        let output = job.workDirectory.appendingPathComponent("text-layer.html").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let range = ["-f", "1", "-l", String(count)]
        do throws(OCRFailure) {
            let text = try Subprocess.run(
                "pdftotext", ["-bbox-layout", "-cropbox", "-enc", "UTF-8"] + range + [path, output],
                deadline: job.deadline, cancel: cancel, limits: configuration.helperLimits)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber)?.intValue ?? 0
            guard text.status == 0, size <= Self.maxTextLayerBytes,
                let data = FileManager.default.contents(atPath: output), let layers = TextLayerReader.parse(data),
                layers.count == count
            else { return [:] }
            let images = try Subprocess.run(
                "pdfimages", ["-list"] + range + [path], deadline: job.deadline, cancel: cancel,
                limits: configuration.helperLimits)
            guard images.status == 0 else { return [:] }
            let areas = PDFImageCoverage.areas(pdfimagesList: images.stdout)
            var usable: [Int: SourcePage] = [:]
            for (index, layer) in layers.enumerated() {
                let coverage = PDFImageCoverage.fraction(area: areas[index + 1] ?? 0, width: layer.width, height: layer.height)
                if TextLayerJudge.judge(layer, imageCoverage: coverage) == .usable { usable[index + 1] = layer }
            }
            return usable
        } catch {
            // A layer poppler cannot read within its limits is no reason to refuse a page
            // that recognition may still read.
            if case .tooLarge = error { return [:] }
            throw error
        }
    }

    /// The lowest resolution PDF pages are rasterised at: below it text is unreadable.
    static let minimumRasterDPI = 36

    /// The resolution a `width` x `height` pt page is rasterised at: `preferred`, lowered
    /// so that neither side exceeds `maxSide` pixels and the page not `maxPixels`, never
    /// below ``minimumRasterDPI`` (a page still over the limits there is refused).
    static func rasterDPI(width: Double, height: Double, preferred: Int, maxSide: Int, maxPixels: Int) -> Int {
        let sideFitting = Double(maxSide) * 72 / max(width, height)
        let pixelFitting = (Double(maxPixels) / (width * height)).squareRoot() * 72
        var dpi = max(minimumRasterDPI, min(preferred, Int(min(sideFitting, pixelFitting).rounded(.down))))
        // Sides round up to whole pixels: step down until the rounded page fits too.
        while dpi > minimumRasterDPI && rasterPixels(width: width, height: height, dpi: dpi) > maxPixels { dpi -= 1 }
        return dpi
    }

    /// Pixels of a `width` x `height` pt page rasterised at `dpi`, as pdftoppm sizes it
    /// (each side rounded up).
    static func rasterPixels(width: Double, height: Double, dpi: Int) -> Int {
        let scale = Double(dpi) / 72
        let columns = min(Double(Int.max >> 33), (width * scale).rounded(.up))
        let rows = min(Double(Int.max >> 33), (height * scale).rounded(.up))
        return Int(columns) * Int(rows)
    }

    private func convertOffice(path: String, fileExtension: String) throws(OCRFailure) -> String {
        let sandbox = OfficeSandbox(
            directory: job.workDirectory.appendingPathComponent("office"), limits: configuration.officeLimits,
            bwrap: configuration.bwrapPath)
        return try sandbox.convertToPDF(
            source: path, fileExtension: fileExtension, deadline: job.deadline, cancel: cancel)
    }

    static func field(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? "no detail").prefix(200).description
    }
}

/// The engine side of one job: takes decoded pages from the feed and recognises them, on
/// an engine thread.
struct DocumentRecognizer {
    let job: OCRJob
    let configuration: EngineConfiguration
    let cancel: CancelFlag
    let document: PreparedDocument

    /// `feed` delivers the document's rasterised pages (all but the text-layer pages) in
    /// order; the caller started its producer.
    func run(slot: EngineSlot, feed: PageFeed, onPhase: @Sendable (OCRPhase) -> Void) throws(OCRFailure) -> OCROutcome {
        try FileManager.default.createDirectory(at: job.workDirectory)
        let pageCount = document.pageCount
        onPhase(.waiting(pageCount: pageCount))
        let recognised = document.pages.count { !$0.isTextLayer }
        var engine: TesseractAPI?
        var correction: PageCorrection?
        if recognised > 0 {
            engine = try slot.engine(
                for: job.languages, dataPath: configuration.dataPath, keep: configuration.cachedLanguageSets)
            correction = PageCorrection(
                osd: configuration.minOrientationConfidence.isFinite
                    ? try slot.orientationEngine(dataPath: configuration.dataPath) : nil,
                minOrientationConfidence: configuration.minOrientationConfidence, deskew: configuration.deskew)
        }

        var renderer: PDFRenderer?
        let rendererBase = job.workDirectory.appendingPathComponent("searchable").path
        if job.format == .pdf && recognised > 0 {
            renderer = try PDFRenderer(outputBase: rendererBase, dataPath: configuration.dataPath, title: "OCR result")
        }
        var layouts: [PageLayout] = []
        // Where each page of a searchable PDF comes from: the renderer's page, or the
        // original page with its own text.
        var pdfPages: [SearchablePDF.Page] = []
        var rasterIndex = 0
        onPhase(.processing(pagesDone: 0, pageCount: pageCount))
        for (index, source) in document.pages.enumerated() {
            try checkpoint()
            if case .textLayer(let path, let number, let words) = source {
                layouts.append(LayoutAnalyzer.analyze(words))
                pdfPages.append(.original(path: path, page: number))
            } else if let engine, let correction {
                let page = try feed.take(rasterIndex, cancel: cancel, deadline: job.deadline)
                rasterIndex += 1
                let words = try withExtendedLifetime(page) { () throws(OCRFailure) -> SourcePage in
                    let (corrected, _) = correction.correct(page.pix, resolution: page.resolution)
                    defer { if let corrected { Leptonica.destroy(corrected) } }
                    return try engine.recognize(
                        pix: corrected ?? page.pix, resolution: page.resolution, deadline: job.deadline, cancel: cancel,
                        renderer: renderer?.handle)
                }
                layouts.append(LayoutAnalyzer.analyze(words))
                pdfPages.append(.rendered)
            }
            onPhase(.processing(pagesDone: index + 1, pageCount: pageCount))
        }
        try checkpoint()

        let output = job.output
        do {
            try ResultFile.replace(output) { partial in
                switch job.format {
                case .txt:
                    try Data(layouts.map(\.text).joined(separator: "\u{0C}").utf8).write(to: partial)
                case .pdf:
                    try renderer?.finish()
                    renderer = nil
                    try SearchablePDF(job: job, limits: configuration.helperLimits, cancel: cancel)
                        .assemble(pdfPages, rendered: rendererBase + ".pdf", to: partial.path)
                case .docx:
                    try OOXMLWriter.writeDocx(pages: layouts, to: partial)
                case .xlsx:
                    try OOXMLWriter.writeXlsx(pages: layouts, to: partial)
                case .pptx:
                    try OOXMLWriter.writePptx(pages: layouts, to: partial)
                }
            }
        } catch let failure as OCRFailure {
            throw failure
        } catch {
            throw .failed("could not write the \(job.format.rawValue) result: \(error)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber)?.int64Value ?? 0
        return OCROutcome(
            pageTexts: layouts.map(\.text), pageLayouts: layouts, textLayerPages: pageCount - recognised, outputBytes: size)
    }

    private func checkpoint() throws(OCRFailure) {
        if cancel.isCancelled { throw .cancelled }
        if ContinuousClock.now >= job.deadline { throw .timeout("processing timed out") }
    }
}

/// Renders and decodes pages for the engine, on the feed's producer thread.
struct PageLoader {
    let job: OCRJob
    let configuration: EngineConfiguration
    let cancel: CancelFlag

    /// Runs until every page is handed over, the first failure, or the consumer stops.
    func produce(_ pages: [PageSource], into feed: PageFeed) {
        defer { feed.producerDone() }
        var decodedPixels = 0
        for (index, page) in pages.enumerated() {
            guard feed.waitForRoom(index: index) else { return }
            do throws(OCRFailure) {
                let loaded = try load(page, index: index)
                decodedPixels = try PixelLimits(configuration).checkDecoded(
                    width: Int(pixGetWidth(loaded.pix)), height: Int(pixGetHeight(loaded.pix)), total: decodedPixels,
                    "page \(index + 1) of the document as decoded")
                feed.put(index, .success(loaded))
            } catch {
                feed.put(index, .failure(error))
                return
            }
        }
    }

    // MARK: Loading one page

    private func load(_ page: PageSource, index: Int) throws(OCRFailure) -> LoadedPage {
        switch page {
        case .image(let path, let tiffIndex):
            guard let pix = Leptonica.read(path: path, tiffIndex: tiffIndex) else {
                throw .invalidDocument("page \(index + 1) is not a readable image")
            }
            return LoadedPage(pix: pix, resolution: Leptonica.resolution(pix), rasterFile: nil)
        case .pdf(let path, let number, let dpi):
            let base = job.workDirectory.appendingPathComponent("page-\(index + 1)").path
            // The crop box is what readers show and what the planner sized the page from
            // (pdfinfo's page size); pdftoppm's default, the media box, may be far larger.
            let result = try Subprocess.run(
                "pdftoppm",
                ["-r", String(dpi), "-cropbox", "-f", String(number), "-l", String(number), "-singlefile", path, base],
                deadline: job.deadline, cancel: cancel, limits: configuration.helperLimits)
            let raster = base + ".ppm"
            do throws(OCRFailure) {
                guard result.status == 0, let header = ImageGeometry.read(path: raster, maxPages: 1)?.pages.first else {
                    throw .invalidDocument(
                        "page \(number) of the PDF could not be rendered (\(Self.firstLine(result.stderr)))")
                }
                // The raster's own header, before Leptonica allocates for it.
                let what = "page \(number) of the PDF as rendered"
                try PixelLimits(configuration).checkSides(width: header.width, height: header.height, what)
                try PixelLimits(configuration).checkPage(pixels: header.decodedPixels, what)
                guard let pix = Leptonica.read(path: raster, tiffIndex: nil) else {
                    throw .invalidDocument("page \(number) of the PDF could not be rendered (unreadable raster)")
                }
                return LoadedPage(pix: pix, resolution: Int32(dpi), rasterFile: raster)
            } catch {
                try? FileManager.default.removeItem(atPath: raster)
                throw error
            }
        case .textLayer:
            // The recogniser takes these from the plan; the producer never gets one.
            throw .failed("page \(index + 1) has its text layer and no image to load")
        }
    }

    static func firstLine(_ text: String) -> String { DocumentPlanner.firstLine(text) }
}

extension DocumentKind {
    static func isTIFF(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        return head == [0x49, 0x49, 0x2A, 0x00] || head == [0x4D, 0x4D, 0x00, 0x2A]
    }
}

extension FileManager {
    func createDirectory(at url: URL) throws(OCRFailure) {
        do {
            try createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .failed("could not create the scratch directory: \(error)")
        }
    }
}
