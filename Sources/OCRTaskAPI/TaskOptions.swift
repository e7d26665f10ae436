import Foundation

/// The validated non-source fields of a create call: `language`, `password`, `format`.
///
/// One set of rules for the client (before sending), ocr-server (when a form arrives) and
/// the worker (when a job arrives). The password is kept out of ``description``.
public struct TaskOptions: Sendable, Hashable, CustomStringConvertible {
    public var languages: LanguageList
    /// The document password, at most 32 characters; `nil` when the document has none.
    public var password: String?
    public var format: OutputFormat

    /// Validates typed values.
    public init(
        languages: LanguageList = .default, password: String? = nil, format: OutputFormat = .default
    ) throws(TaskRequestError) {
        self.languages = languages
        self.password = try Self.checkPassword(password)
        self.format = format
    }

    /// Validates raw wire values (form fields or job fields); `nil` or empty means "not
    /// given" and takes the default.
    public init(language: String?, password: String?, format: String?) throws(TaskRequestError) {
        if let language, !language.trimmingCharacters(in: .whitespaces).isEmpty {
            languages = try LanguageList(commaSeparated: language)
        } else {
            languages = .default
        }
        self.password = try Self.checkPassword(password)
        if let format, !format.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let parsed = OutputFormat(parsing: format) else {
                throw TaskRequestError(
                    code: .invalidFormat, field: TaskAPI.Field.format,
                    reason: "must be one of \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.format = parsed
        } else {
            self.format = .default
        }
    }

    /// The form fields to send, in order, without the source. The password is present only
    /// when set.
    public var formFields: [(name: String, value: String)] {
        var fields = [(name: TaskAPI.Field.language, value: languages.commaSeparated)]
        if let password { fields.append((TaskAPI.Field.password, password)) }
        fields.append((TaskAPI.Field.format, format.rawValue))
        return fields
    }

    public var description: String {
        "languages=\(languages) format=\(format.rawValue) password=\(password == nil ? "none" : "<redacted>")"
    }

    /// Checks length and characters. The reason states the length only, never the value.
    private static func checkPassword(_ password: String?) throws(TaskRequestError) -> String? {
        guard let password, !password.isEmpty else { return nil }
        let field = TaskAPI.Field.password
        guard password.count <= TaskAPI.Limit.maxPasswordLength else {
            throw TaskRequestError(
                code: .passwordTooLong, field: field,
                reason: "is \(password.count) characters, at most \(TaskAPI.Limit.maxPasswordLength) allowed")
        }
        guard !password.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw TaskRequestError(code: .invalidPassword, field: field, reason: "contains control characters")
        }
        return password
    }
}
