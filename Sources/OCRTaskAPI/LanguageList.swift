import Foundation

/// The `language` field: 1 to 10 case-sensitive language names, sent as a comma list.
///
/// Accepts an array or the API's comma string; whitespace around names is dropped. A name
/// is 1 to 64 characters of letters, digits and `_ - + / ( ) .` (the provider's names are
/// ABBYY-style, e.g. `ChinesePRC`, `English`, `Digits`, `C/C++`). Case is preserved and
/// significant: `english` is not `English`, so the provider decides, not us. Duplicates are
/// rejected rather than silently merged, so a job's intent stays visible.
public struct LanguageList: Sendable, Hashable, Codable, CustomStringConvertible {
    public let names: [String]

    /// The provider's default: `ChinesePRC,English,Digits`.
    public static let `default` = LanguageList(uncheckedNames: TaskAPI.defaultLanguages)

    public static let maxNameLength = 64

    private init(uncheckedNames: [String]) { names = uncheckedNames }

    /// Validates an array of names.
    public init(_ names: [String]) throws(TaskRequestError) {
        let trimmed = names.map { $0.trimmingCharacters(in: .whitespaces) }
        try Self.check(trimmed)
        self.names = trimmed
    }

    /// Validates the API's comma string (`"English,Digits"`).
    public init(commaSeparated text: String) throws(TaskRequestError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1, parts[0].trimmingCharacters(in: .whitespaces).isEmpty {
            throw TaskRequestError(code: .noLanguage, field: TaskAPI.Field.language, reason: "no language named")
        }
        try self.init(parts)
    }

    /// The wire value.
    public var commaSeparated: String { names.joined(separator: ",") }

    public var description: String { commaSeparated }

    /// Decodes an array of names or a comma string, validated.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            if let array = try? container.decode([String].self) {
                try self.init(array)
            } else {
                try self.init(commaSeparated: container.decode(String.self))
            }
        } catch let error as TaskRequestError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the wire form, the comma string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(commaSeparated)
    }

    private static let allowedScalars: CharacterSet = {
        var set = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        set.insert(charactersIn: "_-+/().")
        return set
    }()

    private static func check(_ names: [String]) throws(TaskRequestError) {
        let field = TaskAPI.Field.language
        guard !names.isEmpty else {
            throw TaskRequestError(code: .noLanguage, field: field, reason: "no language named")
        }
        guard names.count <= TaskAPI.Limit.maxLanguages else {
            throw TaskRequestError(
                code: .tooManyLanguages, field: field,
                reason: "\(names.count) languages named, at most \(TaskAPI.Limit.maxLanguages) allowed")
        }
        var seen = Set<String>()
        for (index, name) in names.enumerated() {
            guard !name.isEmpty else {
                throw TaskRequestError(code: .invalidLanguage, field: field, reason: "name #\(index + 1) is empty")
            }
            guard name.unicodeScalars.count <= maxNameLength else {
                throw TaskRequestError(
                    code: .invalidLanguage, field: field,
                    reason: "name #\(index + 1) is longer than \(maxNameLength) characters")
            }
            guard name.unicodeScalars.allSatisfy(allowedScalars.contains) else {
                throw TaskRequestError(
                    code: .invalidLanguage, field: field,
                    reason: "name #\(index + 1) has characters outside letters, digits and _-+/().")
            }
            guard seen.insert(name).inserted else {
                throw TaskRequestError(
                    code: .duplicateLanguage, field: field, reason: "\"\(name)\" is named twice")
            }
        }
    }
}
