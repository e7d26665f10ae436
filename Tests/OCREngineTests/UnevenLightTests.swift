import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// With Tesseract: a page lit unevenly (a phone photo, darker towards one side) is read
/// whole; one global threshold would turn the dark side black and lose its text.
@Suite(.tags(.tesseract)) struct UnevenLightTests {
    @Test func aPageDarkerOnOneSideIsReadWhole() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uneven-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // samples/clean.png, its brightness falling from 100 % on the left to 41 % on the right.
        _ = try ProjectPython.run(
            """
            import sys
            from PIL import Image, ImageChops
            page = Image.open(sys.argv[1]).convert("L")
            ramp = Image.linear_gradient("L").rotate(90).transpose(Image.FLIP_LEFT_RIGHT).resize(page.size)
            ImageChops.multiply(page, ramp.point(lambda v: 255 - v * 150 // 255)).save(sys.argv[2])
            """, [samples.appendingPathComponent("clean.png").path, path])
        let harness = try EngineHarness(try Data(contentsOf: URL(fileURLWithPath: path)))
        defer { harness.remove() }
        let text = try await harness.process().get().pageTexts.joined()
        let expected = try String(contentsOf: samples.appendingPathComponent("clean.txt"), encoding: .utf8)
        #expect(CharacterErrorRate.of(text, against: expected) <= 0.02, "\(text)")
    }
}
