import Foundation

/// Files whose headers tell one decoder one size and another decoder another, and small
/// PDFs written byte by byte (text in a base-14 font, boxes of any size).
enum HostileFiles {
    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    /// An uncompressed 8-bit grey TIFF of `width` x `height` (all its pixels present) whose
    /// directory then repeats ImageWidth and ImageLength with `claimedWidth` x
    /// `claimedHeight`: libtiff reads the first occurrence of a tag.
    static func tiffWithRepeatedSizeTags(width: Int, height: Int, claimedWidth: Int, claimedHeight: Int) -> Data {
        let entries: [(tag: UInt16, type: UInt16, value: Int)] = [
            (256, 4, width), (256, 4, claimedWidth), (257, 4, height), (257, 4, claimedHeight), (258, 3, 8), (259, 3, 1),
            (262, 3, 1), (273, 4, -1), (277, 3, 1), (278, 4, height), (279, 4, width * height),
        ]
        let stripOffset = 8 + 2 + entries.count * 12 + 4
        var bytes = Array("II".utf8) + littleEndian(UInt16(42)) + littleEndian(UInt32(8))
        bytes += littleEndian(UInt16(entries.count))
        for entry in entries {
            let value = entry.value < 0 ? stripOffset : entry.value
            bytes += littleEndian(entry.tag) + littleEndian(entry.type) + littleEndian(UInt32(1))
            bytes += entry.type == 3 ? littleEndian(UInt16(value)) + [0, 0] : littleEndian(UInt32(value))
        }
        bytes += littleEndian(UInt32(0))
        return Data(bytes + [UInt8](repeating: 0x80, count: width * height))
    }

    /// One page of a PDF: its box entries (e.g. "/MediaBox [0 0 612 792]") and the
    /// operators of its content stream, drawn with Helvetica as /F1.
    struct Page {
        var boxes: String
        var content: String = ""
    }

    /// A PDF of `pages` with a correct cross-reference table.
    static func pdf(_ pages: [Page]) -> Data {
        // 1 catalog, 2 page tree, 3 font, then a page and its content stream per page.
        let kids = pages.indices.map { "\(4 + 2 * $0) 0 R" }.joined(separator: " ")
        var objects = [
            "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [\(kids)] /Count \(pages.count) >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
        for (index, page) in pages.enumerated() {
            objects.append(
                "<< /Type /Page /Parent 2 0 R \(page.boxes) /Resources << /Font << /F1 3 0 R >> >> /Contents \(5 + 2 * index) 0 R >>")
            objects.append("<< /Length \(page.content.utf8.count) >>\nstream\n\(page.content)\nendstream")
        }
        var text = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(text.utf8.count)
            text += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = text.utf8.count
        text += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        text += offsets.map { String(format: "%010d 00000 n \n", $0) }.joined()
        text += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Data(text.utf8)
    }

    /// The content-stream operators that write `text` in `size` pt Helvetica with its
    /// baseline starting at (`x`, `y`) (PDF coordinates: from the bottom left).
    static func text(_ text: String, x: Int, y: Int, size: Int = 11) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "(", with: "\\(")
            .replacingOccurrences(of: ")", with: "\\)")
        return "BT /F1 \(size) Tf \(x) \(y) Td (\(escaped)) Tj ET"
    }

    /// `lines` in 11 pt Helvetica from (72, 720) down, 14 pt apart.
    static func textLines(_ lines: [String], x: Int = 72, top: Int = 720) -> String {
        lines.enumerated().map { index, line in text(line, x: x, y: top - 14 * index) }.joined(separator: "\n")
    }
}
