public import Foundation

/// Small PDFs written byte by byte: text in a base-14 font (Helvetica as /F1), boxes of
/// any size. A page drawn with these has a real text layer, as a born-digital document does.
public enum TextPDF {
    /// One page of a PDF: its box entries (e.g. "/MediaBox [0 0 612 792]") and the
    /// operators of its content stream, drawn with Helvetica as /F1.
    public struct Page: Sendable {
        public var boxes: String
        public var content: String

        public init(boxes: String, content: String = "") {
            self.boxes = boxes
            self.content = content
        }
    }

    /// A PDF of `pages` with a correct cross-reference table.
    public static func document(_ pages: [Page]) -> Data {
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
    public static func text(_ text: String, x: Int, y: Int, size: Int = 11) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "(", with: "\\(")
            .replacingOccurrences(of: ")", with: "\\)")
        return "BT /F1 \(size) Tf \(x) \(y) Td (\(escaped)) Tj ET"
    }

    /// `lines` in 11 pt Helvetica from (72, 720) down, 14 pt apart.
    public static func lines(_ lines: [String], x: Int = 72, top: Int = 720) -> String {
        lines.enumerated().map { index, line in text(line, x: x, y: top - 14 * index) }.joined(separator: "\n")
    }
}
