import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// Files small on disk that decode to huge images are refused from their headers (or,
/// for PDF pages, from their size at the resolution they would be rasterised at), before
/// anything is decoded, with the too-large failure (task state -5).
@Suite(.tags(.tesseract)) struct DecompressionBombTests {
    /// Plans `data` as a document; the page count, or the failure.
    func prepare(_ data: Data, configuration: EngineConfiguration = EngineConfiguration(workers: 1)) async throws
        -> Result<PreparedDocument, OCRFailure>
    {
        let harness = try EngineHarness(data, configuration: configuration)
        defer { harness.remove() }
        return try await harness.prepare()
    }

    func expectTooLarge(_ result: Result<PreparedDocument, OCRFailure>, mentioning words: [String], _ what: String) {
        switch result {
        case .success(let document):
            Issue.record("\(what): planned \(document.pageCount) page(s) instead of refusing")
        case .failure(.tooLarge(let detail)):
            for word in words { #expect(detail.contains(word), "\(what): \(detail)") }
        case .failure(let other):
            Issue.record("\(what): \(other) instead of too large")
        }
    }

    // Each image claims 30000 x 30000 (or 20000 x 20000): under the 32512 side limit,
    // 900 (400) megapixels, over the 100 of a page.

    @Test func pngHeaderOverThePixelLimit() async throws {
        expectTooLarge(try await prepare(Bombs.png(width: 30000, height: 30000)), mentioning: ["900 megapixels"], "png")
    }

    @Test func jpegHeaderOverThePixelLimit() async throws {
        expectTooLarge(try await prepare(Bombs.jpeg(width: 30000, height: 30000)), mentioning: ["900 megapixels"], "jpeg")
    }

    /// Leptonica's header reader decodes a whole GIF (and BMP) to learn its size.
    @Test func gifHeaderOverThePixelLimit() async throws {
        expectTooLarge(try await prepare(Bombs.gif(width: 20000, height: 20000)), mentioning: ["400 megapixels"], "gif")
    }

    @Test func bmpHeaderOverThePixelLimit() async throws {
        expectTooLarge(try await prepare(Bombs.bmp(width: 30000, height: 30000)), mentioning: ["900 megapixels"], "bmp")
    }

    /// Only the first page of a TIFF was looked at: a huge second page went through.
    @Test func tiffLaterPageOverThePixelLimit() async throws {
        let tiff = Bombs.tiff(pages: [(10, 10), (30000, 30000)])
        expectTooLarge(try await prepare(tiff), mentioning: ["page 2", "900 megapixels"], "tiff")
    }

    /// A 30000 x 30000 pt page is 225 megapixels even at the lowest resolution (36 dpi).
    @Test func pdfPageOverThePixelLimitAtTheLowestResolution() async throws {
        expectTooLarge(try await prepare(Bombs.pdf(width: 30000, height: 30000)), mentioning: ["page 1", "megapixels"], "pdf")
    }

    /// A big but legitimate page is rasterised at a resolution whose pixels fit the limit:
    /// 5000 x 5000 pt fits the side limit at 172 dpi (11944 px) but is 142 megapixels
    /// there; at 144 dpi it is 100.
    @Test func bigPdfPageGetsAResolutionWithinThePixelLimit() async throws {
        let document = try await prepare(Bombs.pdf(width: 5000, height: 5000)).get()
        guard case .pdf(_, _, let dpi) = try #require(document.pages.first) else {
            Issue.record("not a PDF page")
            return
        }
        #expect(dpi == 144)
        #expect(DocumentPlanner.rasterPixels(width: 5000, height: 5000, dpi: dpi) <= EngineConfiguration.defaultMaxPagePixels)
    }

    /// Every page fits, the pages together do not.
    @Test func documentOverItsPixelLimit() async throws {
        let data = try Data(contentsOf: samples.appendingPathComponent("two-pages.pdf"))
        // Two 480 x 115.2 pt pages at 300 dpi: 2000 x 480 pixels each, 1.9 megapixels together.
        let configuration = EngineConfiguration(workers: 1, maxDocumentPixels: 1_500_000)
        expectTooLarge(
            try await prepare(data, configuration: configuration), mentioning: ["per document", "1.5 megapixels"], "pdf")
        #expect(try await prepare(data).get().pageCount == 2, "the default limit lets it through")
    }

    /// The header reader agrees with the sizes Pillow wrote, for every image format.
    @Test func headerSizesMatchTheImages() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("geometry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let python = samples.deletingLastPathComponent().appendingPathComponent(".tools/venv/bin/python").path
        // Writes each format, then prints "name width height" per page as Pillow reads it back.
        let script = """
            import sys
            from PIL import Image, ImageSequence
            src = Image.open(sys.argv[1]).convert("RGB")
            out = sys.argv[2]
            src.save(out + "/a.jpg"); src.convert("P").save(out + "/a.gif"); src.save(out + "/a.bmp")
            src.save(out + "/a.webp"); src.save(out + "/lossless.webp", lossless=True)
            src.save(out + "/a.tiff", save_all=True, append_images=[src.resize((src.width // 2, src.height // 3))])
            src.convert("L").save(out + "/a.png")
            for name in ["a.jpg", "a.gif", "a.bmp", "a.webp", "lossless.webp", "a.tiff", "a.png"]:
                for frame in ImageSequence.Iterator(Image.open(out + "/" + name)):
                    print(name, frame.width, frame.height)
            """
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, samples.appendingPathComponent("scan-noisy.png").path, directory.path]
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        var expected: [String: [ImageGeometry.Page]] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            let (width, height) = (Int(parts[1])!, Int(parts[2])!)
            expected[String(parts[0]), default: []].append(.init(width: width, height: height, decodedPixels: width * height))
        }
        #expect(expected.count == 7)
        #expect(expected["a.tiff"]?.count == 2)
        for (name, pages) in expected {
            let geometry = ImageGeometry.read(path: directory.appendingPathComponent(name).path, maxPages: 10)
            #expect(geometry?.pages == pages, "\(name)")
        }
    }

    @Test func truncatedHeadersAreNotImages() {
        for data in [Bombs.png(width: 10, height: 10).prefix(20), Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00]), Data("GIF89a".utf8)] {
            #expect(ImageGeometry.parse(ByteReader(bytes: Data(data)), maxPages: 10) == nil)
        }
    }
}
