import Foundation

/// The output format of a task (`format` field). The provider's default is ``txt``.
public enum OutputFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case txt
    case pdf
    case docx
    case xlsx
    case pptx

    /// The format used when a request names none.
    public static let `default`: OutputFormat = .txt

    /// Parses a `format` value. Case-insensitive and trimmed, because job producers write
    /// `PDF` as often as `pdf`; what goes on the wire is always the lowercase raw value.
    public init?(parsing text: String) {
        let normalized = text.trimmingCharacters(in: .whitespaces).lowercased()
        self.init(rawValue: normalized)
    }

    /// The MIME type of a result file in this format.
    public var contentType: String {
        switch self {
        case .txt: "text/plain; charset=utf-8"
        case .pdf: "application/pdf"
        case .docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case .pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        }
    }
}
