import Foundation
import TestSupport
import Testing

/// A document over the pixel limits fails with state -5 and says why, before any page is
/// rasterised.
@Suite(.tags(.tesseract)) struct PixelLimitTests {
    /// A one-page PDF of 30000 x 30000 pt: 225 megapixels even at 36 dpi.
    static func hugePagePDF() -> Data { Bombs.pdf(width: 30000, height: 30000) }

    @Test func pageOverThePixelLimitFailsWithMinus5() async throws {
        try await withServer { _, api in
            let id = try await api.createTask([.file("image_file", "huge.pdf", Self.hugePagePDF()), .field("language", "English")])
            let data = try await api.waitTerminal(id, seconds: 60)
            #expect(data["state"] as? Int == -5, "\(data)")
            #expect((data["state_detail"] as? String ?? "").contains("megapixels"), "\(data)")
        }
    }
}
