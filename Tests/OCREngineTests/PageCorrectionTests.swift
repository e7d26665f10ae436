import CTesseract
import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// With Tesseract: a page turned by a quarter, half or three quarters is turned back
/// before recognition and reads as the upright page does; a slightly skewed page is
/// straightened.
@Suite(.tags(.tesseract)) struct PageCorrectionTests {
    /// samples/clean.png turned clockwise by `quarterTurns`, as a PNG.
    static func turned(_ quarterTurns: Int32) throws -> Data {
        let upright = try #require(Leptonica.read(path: samples.appendingPathComponent("clean.png").path, tiffIndex: nil))
        defer { Leptonica.destroy(upright) }
        let turned = try #require(pixRotateOrth(upright, quarterTurns))
        defer { Leptonica.destroy(turned) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("turned-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #require(pixWrite(path, turned, Int32(IFF_PNG)) == 0)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    static func text(_ data: Data) async throws -> String {
        let harness = try EngineHarness(data)
        defer { harness.remove() }
        return try await harness.process().get().pageTexts.joined()
    }

    @Test func turnedPagesReadAsTheUprightOne() async throws {
        let expected = try String(contentsOf: samples.appendingPathComponent("clean.txt"), encoding: .utf8)
        let uprightErrors = CharacterErrorRate.of(try await Self.text(try Self.turned(0)), against: expected)
        for quarterTurns: Int32 in 1...3 {
            let turned = try await Self.text(try Self.turned(quarterTurns))
            #expect(
                CharacterErrorRate.of(turned, against: expected) <= uprightErrors + 0.01, "\(quarterTurns): \(turned)")
        }
    }

    @Test func aSkewedPageIsStraightened() throws {
        let upright = try #require(Leptonica.read(path: samples.appendingPathComponent("clean.png").path, tiffIndex: nil))
        defer { Leptonica.destroy(upright) }
        let skewed = try #require(
            pixRotate(upright, 2.5 * .pi / 180, Int32(L_ROTATE_SAMPLING), Int32(L_BRING_IN_WHITE), 0, 0))
        defer { Leptonica.destroy(skewed) }
        let osd = try TesseractAPI(selection: LanguageSelection(codes: ["osd"]), dataPath: OCRLanguage.defaultDataPath)
        let correction = PageCorrection(osd: osd, minOrientationConfidence: 5, deskew: true)
        let (straight, applied) = correction.correct(skewed, resolution: 300)
        if let straight { Leptonica.destroy(straight) }
        #expect(straight != nil && applied.quarterTurns == 0)
        #expect(abs(applied.deskewDegrees + 2.5) < 0.3, "\(applied)")
        let (unchanged, none) = correction.correct(upright, resolution: 300)
        #expect(unchanged == nil && none.quarterTurns == 0 && none.deskewDegrees == 0, "\(none)")
    }
}
