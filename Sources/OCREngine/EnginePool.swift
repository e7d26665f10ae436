public import Foundation
public import Logging
import NIOPosix
import Permits
import Synchronization

/// The output formats the engine writes.
public enum ResultFormat: String, Sendable, CaseIterable {
    case txt, pdf, docx, xlsx, pptx
}

/// One document to recognise.
public struct OCRJob: Sendable {
    /// The document (image, PDF or office file), already on local disk.
    public var input: URL
    public var languages: LanguageSelection
    /// Password of a protected PDF; never logged.
    public var password: String?
    public var format: ResultFormat
    /// Where the result file is written.
    public var output: URL
    /// A private scratch directory for this job; the caller removes it afterwards.
    public var workDirectory: URL
    /// Processing fails with ``OCRFailure/timeout(_:)`` after this instant.
    public var deadline: ContinuousClock.Instant
    /// Recognise every page from its image, even a PDF page whose own text layer would
    /// serve (see ``TextLayerJudge``): for PDFs whose text layer is known to be wrong.
    public var forceOCR: Bool

    public init(
        input: URL, languages: LanguageSelection, password: String?, format: ResultFormat,
        output: URL, workDirectory: URL, deadline: ContinuousClock.Instant, forceOCR: Bool = false
    ) {
        self.input = input
        self.languages = languages
        self.password = password
        self.format = format
        self.output = output
        self.workDirectory = workDirectory
        self.deadline = deadline
        self.forceOCR = forceOCR
    }
}

/// Where a job is, reported from the engine thread as it goes.
public enum OCRPhase: Sendable, Equatable {
    /// The document is understood and its pages counted; models are loading.
    case waiting(pageCount: Int)
    /// `pagesDone` of `pageCount` pages recognised.
    case processing(pagesDone: Int, pageCount: Int)
}

/// What a finished job produced.
public struct OCROutcome: Sendable {
    /// Recognised text, one element per page, in reading order.
    public var pageTexts: [String]
    /// Each page's paragraphs and tables, as the result file holds them.
    public var pageLayouts: [PageLayout]
    /// Pages whose own PDF text layer served instead of recognition.
    public var textLayerPages: Int
    /// Size of the result file.
    public var outputBytes: Int64
    public var pageCount: Int { pageTexts.count }
}

public struct EngineConfiguration: Sendable {
    /// 100 megapixels: a 10000 x 10000 page, 400 MB once decoded at 32 bits per pixel; an
    /// A4 page at 600 dpi is 35.
    public static let defaultMaxPagePixels = 100_000_000
    /// 5000 megapixels: 500 A4 pages at 300 dpi (8.7 megapixels each) fit.
    public static let defaultMaxDocumentPixels = 5_000_000_000
    /// OSD's confidence on a page of running text is 15 to 40 whichever way it is turned;
    /// on a page with a few words it falls under 5 and the answer is often wrong.
    public static let defaultMinOrientationConfidence = 5.0

    /// Engines (and threads) in the pool: tasks processed at once.
    public var workers: Int
    /// Directory of the `*.traineddata` files (and `pdf.ttf`).
    public var dataPath: String
    /// Resolution PDF pages are rasterised at.
    public var rasterDPI: Int
    /// Largest image side accepted (PicWish: 32512).
    public var maxImageSide: Int
    /// Largest side of a rasterised PDF page; big pages get a lower resolution.
    public var maxRasterSide: Int
    /// Most pages per document.
    public var maxPages: Int
    /// Most pixels of one page once decoded or rasterised (a decompression bomb is small
    /// on disk and huge in memory); checked from headers and PDF page sizes, before any
    /// decoding. PDF pages over it are rasterised at a lower resolution first.
    public var maxPagePixels: Int
    /// Most pixels of all pages of a document together.
    public var maxDocumentPixels: Int
    /// Language sets each engine keeps initialised (least recently used ones are freed).
    public var cachedLanguageSets: Int
    /// Documents prepared at once (decrypted, converted from office formats, counted)
    /// outside the engines, on their own threads.
    public var preparationWorkers: Int
    /// Pages rendered and decoded ahead of the engine working on a document.
    public var pagesAhead: Int
    /// Limits of each sandboxed LibreOffice conversion.
    public var officeLimits: OfficeSandbox.Limits
    /// The bubblewrap executable of the office sandbox (a name on PATH, or a path).
    public var bwrapPath: String
    /// Limits of every other helper run (pdftoppm, pdfinfo, qpdf).
    public var helperLimits: HelperLimits
    /// The confidence Tesseract's orientation detection (OSD) must reach for a page to be
    /// turned upright (see ``PageCorrection``); `.infinity` turns no page and skips OSD.
    public var minOrientationConfidence: Double
    /// Whether pages are straightened (small skew angles) before recognition.
    public var deskew: Bool

    public init(
        workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        dataPath: String = OCRLanguage.defaultDataPath, rasterDPI: Int = 300, maxImageSide: Int = 32512,
        maxRasterSide: Int = 12000, maxPages: Int = 500, maxPagePixels: Int = defaultMaxPagePixels,
        maxDocumentPixels: Int = defaultMaxDocumentPixels, cachedLanguageSets: Int = 2,
        preparationWorkers: Int? = nil, pagesAhead: Int = 2, officeLimits: OfficeSandbox.Limits = .init(),
        bwrapPath: String = "bwrap", helperLimits: HelperLimits = .init(),
        minOrientationConfidence: Double = defaultMinOrientationConfidence, deskew: Bool = true
    ) {
        self.workers = max(1, workers)
        self.dataPath = dataPath
        self.rasterDPI = rasterDPI
        self.maxImageSide = maxImageSide
        self.maxRasterSide = maxRasterSide
        self.maxPages = maxPages
        self.maxPagePixels = max(1, maxPagePixels)
        self.maxDocumentPixels = max(1, maxDocumentPixels)
        self.cachedLanguageSets = max(1, cachedLanguageSets)
        self.preparationWorkers = max(1, preparationWorkers ?? max(1, workers))
        self.pagesAhead = max(1, pagesAhead)
        self.officeLimits = officeLimits
        self.bwrapPath = bwrapPath
        self.helperLimits = helperLimits
        self.minOrientationConfidence = minOrientationConfidence.isNaN ? .infinity : minOrientationConfidence
        self.deskew = deskew
    }
}

/// One engine of the pool: the Tesseract instances it has initialised, by language set.
/// Only the task that holds the slot touches it, from a pool thread.
public final class EngineSlot: @unchecked Sendable {
    let index: Int
    private var engines: [LanguageSelection: TesseractAPI] = [:]
    private var recency: [LanguageSelection] = []
    /// The orientation detection engine (`osd`), loaded at first use; nil inside when the
    /// server has no `osd.traineddata`.
    private var orientation: TesseractAPI??

    init(index: Int) { self.index = index }

    func engine(for selection: LanguageSelection, dataPath: String, keep: Int) throws(OCRFailure) -> TesseractAPI {
        recency.removeAll { $0 == selection }
        recency.append(selection)
        if let engine = engines[selection] { return engine }
        while recency.count > keep { engines[recency.removeFirst()] = nil }
        let engine = try TesseractAPI(selection: selection, dataPath: dataPath)
        engines[selection] = engine
        return engine
    }

    /// The OSD engine, nil when `osd.traineddata` is not installed (pages are then
    /// straightened but never turned).
    func orientationEngine(dataPath: String) throws(OCRFailure) -> TesseractAPI? {
        if let orientation { return orientation }
        var engine: TesseractAPI?
        if FileManager.default.fileExists(atPath: dataPath + "/osd.traineddata") {
            engine = try TesseractAPI(selection: LanguageSelection(codes: ["osd"]), dataPath: dataPath)
        }
        orientation = .some(engine)
        return engine
    }

    func releaseEngines() {
        engines.removeAll()
        recency.removeAll()
        orientation = nil
    }
}

/// A bounded pool of Tesseract engines, one per worker thread by default.
///
/// A task first waits for a free slot (``withSlot(_:)``; the server reports state 0 while
/// it waits), then runs ``process(_:in:cancel:onPhase:)``, whose blocking work (Leptonica,
/// Tesseract, the helper programs) runs on the pool's own `NIOThreadPool` threads, never
/// on the Swift cooperative pool. Each engine loads a language set's models once and
/// reuses them for later tasks.
public final class OCREnginePool: Sendable {
    public let configuration: EngineConfiguration
    private let threadPool: NIOThreadPool
    /// Planning threads (qpdf, pdfinfo, LibreOffice): as many as `preparationWorkers`, so
    /// the pool's queue is the preparation concurrency limit.
    private let preparationPool: NIOThreadPool
    private let slots: SlotQueue
    private let logger: Logger

    public init(configuration: EngineConfiguration, logger: Logger = Logger(label: "ocr-engine")) {
        self.configuration = configuration
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.workers)
        self.preparationPool = NIOThreadPool(numberOfThreads: configuration.preparationWorkers)
        self.slots = SlotQueue(slots: (0..<configuration.workers).map(EngineSlot.init(index:)))
        self.logger = logger
        threadPool.start()
        preparationPool.start()
    }

    /// Stops the threads; call after the last task finished.
    public func shutdown() async {
        for slot in slots.drain() {
            _ = try? await threadPool.runIfActive { slot.releaseEngines() }
        }
        try? await threadPool.shutdownGracefully()
        try? await preparationPool.shutdownGracefully()
    }

    /// Engines busy now.
    public func busyCount() async -> Int { slots.busy }

    /// Tasks waiting for an engine now.
    public func waitingCount() async -> Int { slots.waiting }

    /// Runs `body` holding one engine slot; waits (cancellably) while all are busy.
    public func withSlot<T: Sendable>(
        _ body: (EngineSlot) async throws -> T
    ) async throws -> T {
        let slot: EngineSlot
        do {
            slot = try await slots.acquire()
        } catch {
            // Cancelled while waiting (a drain): that reads as cancelled, never as a broken engine.
            throw OCRFailure.cancelled
        }
        do {
            let value = try await body(slot)
            slots.release(slot)
            return value
        } catch {
            slots.release(slot)
            throw error
        }
    }

    /// Works out a document's pages (decrypting a PDF, converting an office file through
    /// LibreOffice) on a preparation thread, without holding an engine.
    public func prepare(_ job: OCRJob, cancel: CancelFlag) async throws(OCRFailure) -> PreparedDocument {
        let configuration = configuration
        return try await run(on: preparationPool, cancel: cancel, unavailable: "preparation unavailable") {
            try DocumentPlanner(job: job, configuration: configuration, cancel: cancel).prepare()
        }
    }

    /// Prepares and recognises a document on `slot` (tests and simple callers; the server
    /// prepares before it takes a slot).
    public func process(
        _ job: OCRJob, in slot: EngineSlot, cancel: CancelFlag,
        onPhase: @escaping @Sendable (OCRPhase) -> Void
    ) async throws(OCRFailure) -> OCROutcome {
        let document = try await prepare(job, cancel: cancel)
        return try await process(document, job, in: slot, cancel: cancel, onPhase: onPhase)
    }

    /// Recognises a prepared document on `slot` and writes the result file. Pages are
    /// rendered and decoded by a producer thread of their own, up to `pagesAhead` ahead.
    public func process(
        _ document: PreparedDocument, _ job: OCRJob, in slot: EngineSlot, cancel: CancelFlag,
        onPhase: @escaping @Sendable (OCRPhase) -> Void
    ) async throws(OCRFailure) -> OCROutcome {
        let configuration = configuration
        return try await run(on: threadPool, cancel: cancel, unavailable: "engine unavailable") {
            let feed = PageFeed(capacity: configuration.pagesAhead)
            let loader = PageLoader(job: job, configuration: configuration, cancel: feed.producerCancel)
            let pages = document.pages.filter { !$0.isTextLayer }
            let producer = Thread { loader.produce(pages, into: feed) }
            producer.name = "ocr-pages"
            producer.start()
            defer { feed.stop() }
            return try DocumentRecognizer(job: job, configuration: configuration, cancel: cancel, document: document)
                .run(slot: slot, feed: feed, onPhase: onPhase)
        }
    }

    /// Runs blocking `work` on one of the pool's threads, raising `cancel` when the calling
    /// task is cancelled. Every error leaves as an `OCRFailure`: a `CancellationError` from
    /// the pool (which refuses work for a task cancelled before its turn came) is the
    /// caller's cancellation, such as a drain, not a broken engine.
    private func run<Value: Sendable>(
        on pool: NIOThreadPool, cancel: CancelFlag, unavailable: String,
        _ work: @escaping @Sendable () throws -> Value
    ) async throws(OCRFailure) -> Value {
        do {
            return try await withTaskCancellationHandler {
                try await pool.runIfActive(work)
            } onCancel: {
                cancel.cancel()
            }
        } catch let failure as OCRFailure {
            throw failure
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .failed("\(unavailable): \(error)")
        }
    }
}

/// Free slots and the tasks waiting for one, first come first served: a ``PermitQueue``
/// with one permit per slot, and the free slots themselves beside it.
final class SlotQueue: Sendable {
    private let permits: PermitQueue
    private let free: Mutex<[EngineSlot]>
    private let total: Int

    init(slots: [EngineSlot]) {
        permits = PermitQueue(limit: slots.count)
        free = Mutex(slots.reversed())
        total = slots.count
    }

    var busy: Int { total - free.withLock { $0.count } }
    var waiting: Int { permits.waiting }

    func acquire() async throws -> EngineSlot {
        try await permits.acquire()
        // Holding a permit means at least one slot is free.
        return free.withLock { $0.removeLast() }
    }

    func release(_ slot: EngineSlot) {
        free.withLock { $0.append(slot) }
        permits.release()
    }

    /// Every slot that is free now (for shutdown).
    func drain() -> [EngineSlot] {
        free.withLock { free in
            defer { free = [] }
            return free
        }
    }
}
