import Foundation

/// The language names ocr-server accepts in the `language` field, and the Tesseract
/// language data each one maps to.
///
/// Names are PicWish's (which are ABBYY FineReader's recognition language names) and are
/// case-sensitive, as in the real API. A request may name up to 10 of them; the server
/// joins their Tesseract codes with `+` in the order given (the first is Tesseract's
/// primary language), dropping duplicates.
///
/// | PicWish name          | Tesseract data | Debian package             |
/// |-----------------------|----------------|----------------------------|
/// | `ChinesePRC`          | `chi_sim`      | tesseract-ocr-chi-sim      |
/// | `ChineseTaiwan`       | `chi_tra`      | tesseract-ocr-chi-tra      |
/// | `English`             | `eng`          | tesseract-ocr-eng          |
/// | `Digits`              | `eng` (*)      | tesseract-ocr-eng          |
/// | `Japanese`            | `jpn`          | tesseract-ocr-jpn          |
/// | `Korean`              | `kor`          | tesseract-ocr-kor          |
/// | `French`              | `fra`          | tesseract-ocr-fra          |
/// | `German`              | `deu`          | tesseract-ocr-deu          |
/// | `Spanish`             | `spa`          | tesseract-ocr-spa          |
/// | `Italian`             | `ita`          | tesseract-ocr-ita          |
/// | `PortugueseStandard`  | `por`          | tesseract-ocr-por          |
/// | `PortugueseBrazilian` | `por`          | tesseract-ocr-por          |
/// | `Russian`             | `rus`          | tesseract-ocr-rus          |
/// | `Ukrainian`           | `ukr`          | tesseract-ocr-ukr          |
/// | `Dutch`               | `nld`          | tesseract-ocr-nld          |
/// | `Polish`              | `pol`          | tesseract-ocr-pol          |
/// | `Czech`               | `ces`          | tesseract-ocr-ces          |
/// | `Slovak`              | `slk`          | tesseract-ocr-slk          |
/// | `Hungarian`           | `hun`          | tesseract-ocr-hun          |
/// | `Romanian`            | `ron`          | tesseract-ocr-ron          |
/// | `Bulgarian`           | `bul`          | tesseract-ocr-bul          |
/// | `Croatian`            | `hrv`          | tesseract-ocr-hrv          |
/// | `Greek`               | `ell`          | tesseract-ocr-ell          |
/// | `Turkish`             | `tur`          | tesseract-ocr-tur          |
/// | `Swedish`             | `swe`          | tesseract-ocr-swe          |
/// | `Danish`              | `dan`          | tesseract-ocr-dan          |
/// | `NorwegianBokmal`     | `nor`          | tesseract-ocr-nor          |
/// | `Finnish`             | `fin`          | tesseract-ocr-fin          |
/// | `Arabic`              | `ara`          | tesseract-ocr-ara          |
/// | `Hebrew`              | `heb`          | tesseract-ocr-heb          |
/// | `Hindi`               | `hin`          | tesseract-ocr-hin          |
/// | `Thai`                | `tha`          | tesseract-ocr-tha          |
/// | `Vietnamese`          | `vie`          | tesseract-ocr-vie          |
/// | `Indonesian`          | `ind`          | tesseract-ocr-ind          |
/// | `Malay`               | `msa`          | tesseract-ocr-msa          |
/// | `Latin`               | `lat`          | tesseract-ocr-lat          |
///
/// (*) `Digits` alone recognises with `eng` restricted to the characters
/// `0123456789+-.,/:%()` (a Tesseract whitelist); combined with any other language it adds
/// nothing, because every script's model already reads digits.
///
/// A name whose language data is not installed is rejected with 400 and a message naming
/// the Debian package to install; the default set (`ChinesePRC,English,Digits`) needs
/// `tesseract-ocr-chi-sim` and `tesseract-ocr-eng`.
public enum OCRLanguage {
    /// PicWish name -> Tesseract language data name.
    public static let table: [String: String] = [
        "ChinesePRC": "chi_sim", "ChineseTaiwan": "chi_tra", "English": "eng", "Digits": "eng",
        "Japanese": "jpn", "Korean": "kor", "French": "fra", "German": "deu", "Spanish": "spa",
        "Italian": "ita", "PortugueseStandard": "por", "PortugueseBrazilian": "por",
        "Russian": "rus", "Ukrainian": "ukr", "Dutch": "nld", "Polish": "pol", "Czech": "ces",
        "Slovak": "slk", "Hungarian": "hun", "Romanian": "ron", "Bulgarian": "bul",
        "Croatian": "hrv", "Greek": "ell", "Turkish": "tur", "Swedish": "swe", "Danish": "dan",
        "NorwegianBokmal": "nor", "Finnish": "fin", "Arabic": "ara", "Hebrew": "heb",
        "Hindi": "hin", "Thai": "tha", "Vietnamese": "vie", "Indonesian": "ind", "Malay": "msa",
        "Latin": "lat",
    ]

    /// The characters `Digits` alone allows.
    public static let digitsWhitelist = "0123456789+-.,/:%()"

    /// The directory holding `*.traineddata` (`TESSDATA_PREFIX` if set, else Debian's).
    public static var defaultDataPath: String {
        if let prefix = ProcessInfo.processInfo.environment["TESSDATA_PREFIX"], !prefix.isEmpty {
            return prefix
        }
        for candidate in [
            "/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tessdata",
            "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/local/share/tessdata",
        ] where FileManager.default.fileExists(atPath: candidate + "/eng.traineddata") {
            return candidate
        }
        return "/usr/share/tesseract-ocr/5/tessdata"
    }
}

/// A resolved set of languages: what one Tesseract engine is initialised with.
public struct LanguageSelection: Sendable, Hashable, CustomStringConvertible {
    /// Tesseract codes in order, without duplicates (`["chi_sim", "eng"]`).
    public var codes: [String]
    /// Whether recognition is restricted to ``OCRLanguage/digitsWhitelist``.
    public var digitsOnly: Bool

    public init(codes: [String], digitsOnly: Bool = false) {
        self.codes = codes
        self.digitsOnly = digitsOnly
    }

    /// Tesseract's language argument (`chi_sim+eng`).
    public var tesseractLanguage: String { codes.joined(separator: "+") }

    public var description: String { tesseractLanguage + (digitsOnly ? " (digits)" : "") }

    /// Why a language list was refused.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case tooMany(Int, limit: Int)
        case unknown(String)
        case notInstalled(name: String, data: String)

        public var description: String {
            switch self {
            case .empty: "language names no language"
            case .tooMany(let count, let limit):
                "language names \(count) languages; at most \(limit) are allowed"
            case .unknown(let name):
                "unsupported language '\(name)' (names are case-sensitive, e.g. English, ChinesePRC, Digits)"
            case .notInstalled(let name, let data):
                "language '\(name)' needs Tesseract data '\(data)', which is not installed on this server "
                    + "(Debian package tesseract-ocr-\(data.replacingOccurrences(of: "_", with: "-")))"
            }
        }
    }

    /// Resolves PicWish names (already split on commas) against the table and the installed
    /// language data.
    public static func resolve(
        names: [String], limit: Int = 10, dataPath: String = OCRLanguage.defaultDataPath
    ) -> Result<LanguageSelection, Problem> {
        let trimmed = names.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !trimmed.isEmpty else { return .failure(.empty) }
        guard trimmed.count <= limit else { return .failure(.tooMany(trimmed.count, limit: limit)) }
        var codes: [String] = []
        for name in trimmed {
            guard let code = OCRLanguage.table[name] else { return .failure(.unknown(name)) }
            guard FileManager.default.fileExists(atPath: dataPath + "/" + code + ".traineddata") else {
                return .failure(.notInstalled(name: name, data: code))
            }
            if !codes.contains(code) { codes.append(code) }
        }
        let digitsOnly = Set(trimmed) == ["Digits"]
        return .success(LanguageSelection(codes: codes, digitsOnly: digitsOnly))
    }
}
