import CTesseract
import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// Pages whose headers understate their size: the decoder's own view is the last word, and
/// the planner reads sizes the way the decoder will.
@Suite(.tags(.tesseract)) struct PixelLimitBypassTests {
    /// 10,000 pixels a page: the hostile files below are small, their pages a little over.
    static let smallLimits = EngineConfiguration(workers: 1, rasterDPI: 72, maxPagePixels: 10_000)

    /// The TIFF holds a 200 x 150 page; its directory says 200 x 150 first and 10 x 10
    /// after. libtiff (and so Leptonica) decodes 200 x 150.
    static let repeatedSizeTags = HostileFiles.tiffWithRepeatedSizeTags(
        width: 200, height: 150, claimedWidth: 10, claimedHeight: 10)

    @Test func tiffSizeTagsCountTheFirstTime() throws {
        let geometry = try #require(ImageGeometry.parse(ByteReader(bytes: Self.repeatedSizeTags), maxPages: 1))
        #expect(geometry.pages == [.init(width: 200, height: 150, decodedPixels: 30_000)])
    }

    @Test func tiffWithRepeatedSizeTagsIsRefusedBeforeDecoding() async throws {
        let harness = try EngineHarness(Self.repeatedSizeTags, configuration: Self.smallLimits)
        defer { harness.remove() }
        let result = try await harness.prepare()
        guard case .failure(.tooLarge(let detail)) = result else {
            Issue.record("planned instead of refusing: \(result)")
            return
        }
        #expect(detail.contains("200 x 150") || detail.contains("megapixels"), "\(detail)")
    }

    /// Whatever the plan said, a decoded image over the limits never reaches the engine.
    @Test func decodedImageOverTheLimitsIsRefused() throws {
        let harness = try EngineHarness(Self.repeatedSizeTags, configuration: Self.smallLimits)
        defer { harness.remove() }
        let results = try harness.load([.image(path: harness.input.path, tiffIndex: 0)])
        guard case .failure(.tooLarge(let detail)) = results.first else {
            Issue.record("loaded instead of refusing: \(results)")
            return
        }
        #expect(detail.contains("as decoded") && detail.contains("megapixels"), "\(detail)")
    }

    /// pdfinfo sizes pages by their crop box; a page whose media box is 400 times larger
    /// must be rendered at the size it was planned at.
    static let mediaBoxOverCropBox = TextPDF.document([
        .init(boxes: "/MediaBox [0 0 2000 1000] /CropBox [0 0 100 50]")
    ])

    @Test func pdfPageIsRenderedAtThePlannedSize() async throws {
        let harness = try EngineHarness(Self.mediaBoxOverCropBox, configuration: Self.smallLimits)
        defer { harness.remove() }
        let document = try await harness.prepare().get()
        let pages = try harness.load(document.pages)
        let page = try #require(pages.first).get()
        #expect(pixGetWidth(page.pix) == 100 && pixGetHeight(page.pix) == 50)
        #expect(try await harness.process().get().pageCount == 1)
    }

    /// A rendering over the limits (here a plan at 300 dpi, which the planner would never
    /// make for these limits) is refused however it came about.
    @Test func renderedPageOverTheLimitsIsRefused() throws {
        let harness = try EngineHarness(Self.mediaBoxOverCropBox, configuration: Self.smallLimits)
        defer { harness.remove() }
        let results = try harness.load([.pdf(path: harness.input.path, page: 1, dpi: 300)])
        guard case .failure(.tooLarge(let detail)) = results.first else {
            Issue.record("rendered instead of refusing: \(results)")
            return
        }
        #expect(detail.contains("megapixels"), "\(detail)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: harness.directory.appendingPathComponent("work").path)
        #expect(leftovers.isEmpty, "the refused raster is removed: \(leftovers)")
    }

    @Test func pnmHeadersGiveTheRasterSize() {
        let header = Data("P6\n# pdftoppm\n2000 1000\n255\n".utf8)
        #expect(ImageGeometry.parse(ByteReader(bytes: header), maxPages: 1)?.pages.first?.decodedPixels == 2_000_000)
        #expect(ImageGeometry.parse(ByteReader(bytes: Data("P5 7".utf8)), maxPages: 1) == nil)
    }
}
