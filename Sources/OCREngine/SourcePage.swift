/// The words of one page as their source grouped them, before ``LayoutAnalyzer`` makes a
/// ``PageLayout`` of them: Tesseract's blocks, paragraphs and text lines, or a PDF text
/// layer's flows, blocks and lines (pdftotext's `-bbox-layout`).
struct SourcePage: Sendable, Equatable {
    struct Word: Sendable, Equatable {
        var text: String
        var box: PageLayout.Box
        /// Numbers of the block, paragraph and line the source put the word in; words of
        /// one line share all three. Only equality counts, and the order words come in.
        var block: Int
        var paragraph: Int
        var line: Int
        /// The type size of the word's line, in any unit shared by the page's words
        /// (Tesseract's estimate in points; a text layer's line height): headings are
        /// told by it.
        var size: Double
    }

    var width: Double
    var height: Double
    /// In the source's reading order.
    var words: [Word]
    /// Ruling lines (table borders) found on the page image: thin boxes, horizontal or
    /// vertical.
    var rules: [PageLayout.Box] = []
}
