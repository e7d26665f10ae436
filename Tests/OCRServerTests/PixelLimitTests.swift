import Foundation
import Testing

/// A document over the pixel limits fails with state -5 and says why, before any page is
/// rasterised.
@Suite struct PixelLimitTests {
    /// A one-page PDF of 30000 x 30000 pt: 225 megapixels even at 36 dpi.
    static func hugePagePDF() -> Data {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 30000 30000] >>",
        ]
        var text = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(text.utf8.count)
            text += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = text.utf8.count
        text += "xref\n0 4\n0000000000 65535 f \n"
        for offset in offsets { text += String(repeating: "0", count: 10 - String(offset).count) + "\(offset) 00000 n \n" }
        text += "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Data(text.utf8)
    }

    @Test func pageOverThePixelLimitFailsWithMinus5() async throws {
        try await withServer { _, api in
            let id = try await api.createTask([.file("image_file", "huge.pdf", Self.hugePagePDF()), .field("language", "English")])
            let data = try await api.waitTerminal(id, seconds: 60)
            #expect(data["state"] as? Int == -5, "\(data)")
            #expect((data["state_detail"] as? String ?? "").contains("megapixels"), "\(data)")
        }
    }
}
