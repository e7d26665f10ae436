import CTesseract
import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// RGB pages without colour (pdftoppm's rendering of a black-and-white page, most scans
/// saved as RGB) reach Tesseract as 8-bit grey with the same values, so it does not
/// threshold three identical channels or copy 4 bytes per pixel; pages with colour stay RGB.
@Suite(.tags(.tesseract)) struct GreyPageTests {
    /// A 32-bit RGB image, `width` x `height`, at 200 dpi, with `pixel(x, y)` as its RGB.
    func rgbImage(width: Int32 = 40, height: Int32 = 30, pixel: (Int32, Int32) -> (Int32, Int32, Int32)) throws
        -> PixPointer
    {
        let pix = try #require(pixCreate(width, height, 32))
        pixSetSpp(pix, 3)
        pixSetResolution(pix, 200, 200)
        for y in 0..<height {
            for x in 0..<width {
                let (red, green, blue) = pixel(x, y)
                pixSetRGBPixel(pix, x, y, red, green, blue)
            }
        }
        return pix
    }

    /// The shade of a colourless test image at (x, y): every value 0...255 appears.
    func shade(_ x: Int32, _ y: Int32) -> Int32 { (x * 7 + y * 13) % 256 }

    @Test func colourlessRGBBecomesTheSameGrey() throws {
        let rgb = try rgbImage { x, y in (shade(x, y), shade(x, y), shade(x, y)) }
        defer { Leptonica.destroy(rgb) }
        let grey = try #require(Leptonica.greyIfColourless(rgb))
        defer { Leptonica.destroy(grey) }
        #expect(pixGetDepth(grey) == 8)
        #expect(pixGetYRes(grey) == 200 && pixGetXRes(grey) == 200, "the resolution Tesseract is told stays")
        var value: UInt32 = 0
        for y: Int32 in 0..<30 {
            for x: Int32 in 0..<40 {
                _ = pixGetPixel(grey, x, y, &value)
                #expect(Int32(value) == shade(x, y), "(\(x), \(y))")
            }
        }
    }

    @Test func oneColouredPixelKeepsRGB() throws {
        let rgb = try rgbImage { x, y in x == 39 && y == 29 ? (200, 200, 201) : (shade(x, y), shade(x, y), shade(x, y)) }
        defer { Leptonica.destroy(rgb) }
        #expect(Leptonica.greyIfColourless(rgb) == nil)
    }

    @Test func aColourlessRGBFileIsReadAsGrey() throws {
        let rgb = try rgbImage { x, y in (shade(x, y), shade(x, y), shade(x, y)) }
        defer { Leptonica.destroy(rgb) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("grey-page-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #require(pixWrite(path, rgb, Int32(IFF_PNG)) == 0)
        let read = try #require(Leptonica.read(path: path, tiffIndex: nil))
        defer { Leptonica.destroy(read) }
        #expect(pixGetDepth(read) == 8)
        #expect(Leptonica.resolution(read) == 200)
    }
}
