/// Whether a PDF page's own text layer can stand in for recognition, as OCRmyPDF's
/// `--skip-text` lets a born-digital page through: its text and positions are exact and
/// come at no recognition cost. A page is recognised from its image instead when
///
/// - it has no text with a letter or digit (a scan, a drawing);
/// - images cover more than ``maxImageCoverage`` of it: a scan that carries a text layer
///   (an earlier OCR's, often poor) or a page whose content is mostly pictures;
/// - its text is garbage: more than ``maxUnmappedFraction`` of its characters are
///   U+FFFD, private-use or control characters (glyphs from fonts without a Unicode
///   map), or fewer than ``minLetterFraction`` are letters and digits (a font whose codes
///   map to punctuation).
enum TextLayerJudge {
    static let maxImageCoverage = 0.5
    static let maxUnmappedFraction = 0.1
    static let minLetterFraction = 0.5

    enum Verdict: Equatable {
        case usable
        case noText
        /// The fraction of the page images cover.
        case imageCovered(Double)
        case garbage
    }

    static func judge(_ page: SourcePage, imageCoverage: Double) -> Verdict {
        var characters = 0
        var unmapped = 0
        var letters = 0
        for word in page.words {
            for scalar in word.text.unicodeScalars where !scalar.properties.isWhitespace {
                characters += 1
                switch scalar.properties.generalCategory {
                case .privateUse, .control, .unassigned, .surrogate:
                    unmapped += 1
                default:
                    if scalar.value == 0xFFFD {
                        unmapped += 1
                    } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                        letters += 1
                    }
                }
            }
        }
        if letters == 0 { return .noText }
        if imageCoverage > maxImageCoverage { return .imageCovered(imageCoverage) }
        if Double(unmapped) > maxUnmappedFraction * Double(characters)
            || Double(letters) < minLetterFraction * Double(characters)
        {
            return .garbage
        }
        return .usable
    }
}
