import Foundation

/// The pixel size of each page of an image file, read from its headers alone, so size
/// limits hold before a decoder allocates anything.
///
/// Leptonica's own `pixReadHeader` cannot serve: for GIF and BMP it decodes the whole
/// image to learn its size, which is the very allocation a decompression bomb aims at.
/// Covered: PNG (IHDR), JPEG (the first SOFn), GIF (logical screen and every frame:
/// giflib decodes them all), BMP (DIB header), TIFF (every IFD's ImageWidth and
/// ImageLength), WebP (VP8, VP8L or VP8X), and the binary PNM rasters pdftoppm writes
/// (P4, P5, P6).
struct ImageGeometry: Equatable {
    struct Page: Equatable {
        var width: Int
        var height: Int
        /// Pixels a decoder materialises for this page: width x height, except GIF, whose
        /// reader decodes every frame of the file.
        var decodedPixels: Int
    }

    var pages: [Page]

    /// The geometry of the image at `path`; nil when its headers are damaged or truncated
    /// (the file is then not a readable image). At most `maxPages + 1` TIFF pages are read.
    static func read(path: String, maxPages: Int) -> ImageGeometry? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) else { return nil }
        return parse(ByteReader(bytes: data), maxPages: maxPages)
    }

    static func parse(_ bytes: ByteReader, maxPages: Int) -> ImageGeometry? {
        if bytes.matches(0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return png(bytes) }
        if bytes.matches(0, [0xFF, 0xD8]) { return jpeg(bytes) }
        if bytes.matches(0, Array("GIF87a".utf8)) || bytes.matches(0, Array("GIF89a".utf8)) { return gif(bytes) }
        if bytes.matches(0, Array("BM".utf8)) { return bmp(bytes) }
        if bytes.matches(0, [0x49, 0x49, 0x2A, 0x00]) { return tiff(bytes, bigEndian: false, maxPages: maxPages) }
        if bytes.matches(0, [0x4D, 0x4D, 0x00, 0x2A]) { return tiff(bytes, bigEndian: true, maxPages: maxPages) }
        if bytes.matches(0, Array("RIFF".utf8)) && bytes.matches(8, Array("WEBP".utf8)) { return webp(bytes) }
        if bytes.matches(0, Array("P4".utf8)) || bytes.matches(0, Array("P5".utf8)) || bytes.matches(0, Array("P6".utf8)) {
            return pnm(bytes)
        }
        return nil
    }

    /// `width` x `height`, saturating: headers may claim 2^32 on each side.
    static func area(_ width: Int, _ height: Int) -> Int {
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        return overflow ? Int.max : product
    }

    private static func single(_ width: Int, _ height: Int) -> ImageGeometry {
        ImageGeometry(pages: [Page(width: width, height: height, decodedPixels: area(width, height))])
    }

    private static func png(_ bytes: ByteReader) -> ImageGeometry? {
        guard bytes.matches(12, Array("IHDR".utf8)), let width = bytes.uint32BE(16), let height = bytes.uint32BE(20)
        else { return nil }
        return single(width, height)
    }

    private static func jpeg(_ bytes: ByteReader) -> ImageGeometry? {
        var offset = 2
        while offset < bytes.count {
            // Markers are 0xFF (possibly padded with more 0xFF) and a code; decoders skip
            // stray bytes between segments, and so does this.
            guard bytes[offset] == 0xFF else {
                offset += 1
                continue
            }
            while offset < bytes.count, bytes[offset] == 0xFF { offset += 1 }
            guard offset < bytes.count else { return nil }
            let marker = bytes[offset]
            offset += 1
            switch marker {
            case 0x00, 0x01, 0xD0...0xD7:
                continue // stuffed byte, TEM, RSTn: no length
            case 0xD9, 0xDA:
                return nil // end of image or start of scan before any frame header
            default:
                break
            }
            guard let length = bytes.uint16BE(offset), length >= 2 else { return nil }
            // SOF0...SOF15, except DHT (C4), JPG (C8) and DAC (CC).
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard let height = bytes.uint16BE(offset + 3), let width = bytes.uint16BE(offset + 5) else { return nil }
                return single(width, height)
            }
            offset += length
        }
        return nil
    }

    private static func gif(_ bytes: ByteReader) -> ImageGeometry? {
        guard var width = bytes.uint16LE(6), var height = bytes.uint16LE(8) else { return nil }
        var decoded = 0
        var offset = 13
        if bytes[10] & 0x80 != 0 { offset += 3 << ((Int(bytes[10]) & 7) + 1) }
        /// Skips data sub-blocks (a size byte, that many bytes) up to the empty one.
        func skipSubBlocks(_ start: Int) -> Int? {
            var position = start
            while position < bytes.count {
                let size = Int(bytes[position])
                position += 1 + size
                if size == 0 { return position }
            }
            return nil
        }
        loop: while offset < bytes.count {
            switch bytes[offset] {
            case 0x21: // extension: label, sub-blocks
                guard let next = skipSubBlocks(offset + 2) else { return nil }
                offset = next
            case 0x2C: // image descriptor: left, top, width, height, flags
                guard let left = bytes.uint16LE(offset + 1), let top = bytes.uint16LE(offset + 3),
                    let frameWidth = bytes.uint16LE(offset + 5), let frameHeight = bytes.uint16LE(offset + 7)
                else { return nil }
                width = max(width, left + frameWidth)
                height = max(height, top + frameHeight)
                decoded += area(frameWidth, frameHeight)
                let flags = Int(bytes[offset + 9])
                offset += 10
                if flags & 0x80 != 0 { offset += 3 << ((flags & 7) + 1) }
                // LZW minimum code size, then the image data.
                guard let next = skipSubBlocks(offset + 1) else { break loop }
                offset = next
            default: // trailer (0x3B) or junk: stop, as readers do
                break loop
            }
        }
        return ImageGeometry(pages: [Page(width: width, height: height, decodedPixels: max(decoded, area(width, height)))])
    }

    private static func bmp(_ bytes: ByteReader) -> ImageGeometry? {
        guard let headerSize = bytes.uint32LE(14) else { return nil }
        if headerSize == 12 {
            guard let width = bytes.uint16LE(18), let height = bytes.uint16LE(20) else { return nil }
            return single(width, height)
        }
        guard let width = bytes.int32LE(18), let height = bytes.int32LE(22) else { return nil }
        // A negative height means top-down rows; the magnitude is the size.
        return single(Int(width.magnitude), Int(height.magnitude))
    }

    private static func tiff(_ bytes: ByteReader, bigEndian: Bool, maxPages: Int) -> ImageGeometry? {
        func u16(_ offset: Int) -> Int? { bigEndian ? bytes.uint16BE(offset) : bytes.uint16LE(offset) }
        func u32(_ offset: Int) -> Int? { bigEndian ? bytes.uint32BE(offset) : bytes.uint32LE(offset) }
        var pages: [Page] = []
        var visited = Set<Int>()
        guard var ifd = u32(4) else { return nil }
        while ifd != 0, pages.count <= maxPages {
            // A loop of IFDs would never end; libtiff refuses it too.
            guard visited.insert(ifd).inserted, let entries = u16(ifd) else { return nil }
            var width: Int?
            var height: Int?
            for index in 0..<entries {
                let entry = ifd + 2 + index * 12
                guard let tag = u16(entry), let type = u16(entry + 2) else { return nil }
                guard tag == 256 || tag == 257 else { continue }
                // SHORT (3) or LONG (4), one value, held in the entry itself. A tag given
                // twice counts once, as libtiff reads it: the first occurrence.
                let value = type == 3 ? u16(entry + 8) : type == 4 ? u32(entry + 8) : nil
                if tag == 256 {
                    if width == nil { width = value }
                } else if height == nil {
                    height = value
                }
            }
            guard let width, let height, let next = u32(ifd + 2 + entries * 12) else { return nil }
            pages.append(Page(width: width, height: height, decodedPixels: area(width, height)))
            ifd = next
        }
        return pages.isEmpty ? nil : ImageGeometry(pages: pages)
    }

    /// "P6", whitespace, width, whitespace, height; comments (from "#" to the end of a
    /// line) may stand between the fields.
    private static func pnm(_ bytes: ByteReader) -> ImageGeometry? {
        var offset = 2
        func field() -> Int? {
            while offset < bytes.count {
                if bytes[offset] == UInt8(ascii: "#") {
                    while offset < bytes.count, bytes[offset] != 0x0A { offset += 1 }
                } else if [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) {
                    offset += 1
                } else {
                    break
                }
            }
            var value = 0
            var digits = 0
            while offset < bytes.count, (0x30...0x39).contains(bytes[offset]), digits < 10 {
                value = value * 10 + Int(bytes[offset] - 0x30)
                digits += 1
                offset += 1
            }
            return digits > 0 ? value : nil
        }
        guard let width = field(), let height = field() else { return nil }
        return single(width, height)
    }

    private static func webp(_ bytes: ByteReader) -> ImageGeometry? {
        if bytes.matches(12, Array("VP8 ".utf8)) {
            guard bytes.matches(23, [0x9D, 0x01, 0x2A]), let width = bytes.uint16LE(26), let height = bytes.uint16LE(28)
            else { return nil }
            return single(width & 0x3FFF, height & 0x3FFF)
        }
        if bytes.matches(12, Array("VP8L".utf8)) {
            guard bytes.count >= 25, bytes[20] == 0x2F, let bits = bytes.uint32LE(21) else { return nil }
            return single((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        }
        if bytes.matches(12, Array("VP8X".utf8)) {
            guard let width = bytes.uint24LE(24), let height = bytes.uint24LE(27) else { return nil }
            return single(width + 1, height + 1)
        }
        return nil
    }
}
