import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Reads a PDF's own text layer, as `pdftotext -bbox-layout` writes it: per page its
/// size in points, then flows, blocks, lines and words with their boxes (points, origin
/// at the top left of the crop box). A flow is a ``SourcePage/Word/block``, a block a
/// paragraph.
final class TextLayerReader: NSObject, XMLParserDelegate {
    private var pages: [SourcePage] = []
    private var flow = 0, block = 0, line = 0
    private var word: (box: PageLayout.Box, text: String)?
    /// Whether the document's end was reached: a truncated file is no text layer.
    private var complete = false

    /// The pages of `data` (pdftotext's XHTML), nil when it is not that.
    static func parse(_ data: Data) -> [SourcePage]? {
        // pdftotext copies control characters from the PDF into its output, which XML
        // forbids; they carry nothing.
        var cleaned = data
        cleaned.withUnsafeMutableBytes { bytes in
            for index in bytes.indices where bytes[index] < 0x20 && ![0x09, 0x0A, 0x0D].contains(bytes[index]) {
                bytes[index] = 0x20
            }
        }
        let reader = TextLayerReader()
        let parser = XMLParser(data: cleaned)
        parser.shouldResolveExternalEntities = false
        parser.delegate = reader
        return parser.parse() && reader.complete ? reader.pages : nil
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        func number(_ name: String) -> Double? { attributes[name].flatMap(Double.init).flatMap { $0.isFinite ? $0 : nil } }
        switch elementName {
        case "page":
            pages.append(SourcePage(width: number("width") ?? 0, height: number("height") ?? 0, words: []))
        case "flow": flow += 1
        case "block": block += 1
        case "line": line += 1
        case "word":
            guard let left = number("xMin"), let top = number("yMin"), let right = number("xMax"),
                let bottom = number("yMax")
            else { return }
            word = (PageLayout.Box(left: left, top: top, right: right, bottom: bottom), "")
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        word?.text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == "doc" { complete = true }
        guard elementName == "word", let word, !pages.isEmpty else { return }
        self.word = nil
        pages[pages.count - 1].words.append(
            SourcePage.Word(
                text: word.text, box: word.box, block: flow, paragraph: block, line: line, size: word.box.height))
    }
}
