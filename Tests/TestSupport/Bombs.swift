public import Foundation

/// Image and PDF files whose headers claim a size their (absent) data never fills: the
/// decompression bombs of the engine's and the server's pixel-limit tests.
public enum Bombs {
    public static func be32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    public static func be16(_ value: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)] }
    public static func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    public static func le16(_ value: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)] }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// Signature, IHDR (8-bit RGB), IEND: valid chunks, no image data.
    public static func png(width: Int, height: Int) -> Data {
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be32(body.count) + typed + be32(Int(crc32(typed)))
        }
        let header = be32(width) + be32(height) + [8, 2, 0, 0, 0]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IEND", []))
    }

    /// SOI, a baseline frame header (one component), a scan header, EOI.
    public static func jpeg(width: Int, height: Int) -> Data {
        let frame: [UInt8] = [0xFF, 0xC0] + be16(11) + [8] + be16(height) + be16(width) + [1, 1, 0x11, 0]
        let scan: [UInt8] = [0xFF, 0xDA] + be16(8) + [1, 1, 0x00, 0, 63, 0]
        return Data([0xFF, 0xD8] + frame + scan + [0xFF, 0xD9])
    }

    /// A screen and one frame of `width` x `height`, an empty image data stream.
    public static func gif(width: Int, height: Int) -> Data {
        let screen: [UInt8] = Array("GIF89a".utf8) + le16(width) + le16(height) + [0x00, 0, 0]
        let frame: [UInt8] = [0x2C] + le16(0) + le16(0) + le16(width) + le16(height) + [0x00] + [2, 0]
        return Data(screen + frame + [0x3B])
    }

    /// File header and BITMAPINFOHEADER of a 24-bit image; no pixel rows.
    public static func bmp(width: Int, height: Int) -> Data {
        let info =
            le32(40) + le32(width) + le32(height) + le16(1) + le16(24) + le32(0) + le32(0) + le32(2835)
            + le32(2835) + le32(0) + le32(0)
        return Data(Array("BM".utf8) + le32(54) + le32(0) + le32(54) + info)
    }

    /// A little-endian, uncompressed 8-bit greyscale TIFF with one IFD per page; only the
    /// first page's strip is present.
    public static func tiff(pages: [(Int, Int)]) -> Data {
        var bytes: [UInt8] = Array("II".utf8) + le16(42) + le32(8)
        let entryCount = 9
        let ifdSize = 2 + entryCount * 12 + 4
        let stripOffset = 8 + ifdSize * pages.count
        for (index, (width, height)) in pages.enumerated() {
            func entry(_ tag: Int, _ type: Int, _ value: Int) -> [UInt8] {
                le16(tag) + le16(type) + le32(1) + (type == 3 ? le16(value) + [0, 0] : le32(value))
            }
            bytes += le16(entryCount)
            bytes += entry(256, 4, width) + entry(257, 4, height) + entry(258, 3, 8) + entry(259, 3, 1)
            bytes += entry(262, 3, 1) + entry(273, 4, stripOffset) + entry(277, 3, 1) + entry(278, 4, height)
            bytes += entry(279, 4, width * height)
            bytes += le32(index + 1 < pages.count ? 8 + ifdSize * (index + 1) : 0)
        }
        let (width, height) = pages[0]
        return Data(bytes + [UInt8](repeating: 0x80, count: width * height))
    }

    /// A one-page PDF of `width` x `height` pt with a correct cross-reference table.
    public static func pdf(width: Int, height: Int) -> Data {
        TextPDF.document([.init(boxes: "/MediaBox [0 0 \(width) \(height)]")])
    }
}
