import Foundation

/// A create request that breaks the contract, found before anything is sent (client) or
/// when a form arrives (server).
///
/// Says which wire field is wrong and why. The reason never contains a password, and a
/// URL only in redacted form (see ``RedactedURL``), so the error is safe to log, to put in
/// a failed result or to return in a 400 reply.
public struct TaskRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Neither `image_url` nor `image_file` (nor `file`).
        public static let missingSource = Code(rawValue: "missing_source")
        /// More than one source field.
        public static let conflictingSources = Code(rawValue: "conflicting_sources")
        /// Not a parseable absolute URL with a host.
        public static let invalidURL = Code(rawValue: "invalid_url")
        /// A scheme other than http or https.
        public static let unsupportedScheme = Code(rawValue: "unsupported_scheme")
        /// `image_url` on a port other than 80 or 443 (the provider refuses it).
        public static let unsupportedPort = Code(rawValue: "unsupported_port")
        /// `image_url` naming a loopback, private or link-local host.
        public static let forbiddenHost = Code(rawValue: "forbidden_host")
        /// An empty language list.
        public static let noLanguage = Code(rawValue: "no_language")
        /// More than ``TaskAPI/Limit/maxLanguages`` names.
        public static let tooManyLanguages = Code(rawValue: "too_many_languages")
        /// A name that is empty, too long or has characters outside the allowed set.
        public static let invalidLanguage = Code(rawValue: "invalid_language")
        /// The same name twice.
        public static let duplicateLanguage = Code(rawValue: "duplicate_language")
        /// Longer than ``TaskAPI/Limit/maxPasswordLength`` characters.
        public static let passwordTooLong = Code(rawValue: "password_too_long")
        /// A password with control characters (they cannot survive a form field).
        public static let invalidPassword = Code(rawValue: "invalid_password")
        /// Not one of ``OutputFormat``.
        public static let invalidFormat = Code(rawValue: "invalid_format")
        /// An empty or otherwise unusable uploaded file.
        public static let invalidFile = Code(rawValue: "invalid_file")
        /// A flag (`force_ocr`) that is not `1`, `0`, `true` or `false`.
        public static let invalidFlag = Code(rawValue: "invalid_flag")

        public var description: String { rawValue }
    }

    public var code: Code
    /// The wire field name, e.g. `language` (see ``TaskAPI/Field``).
    public var field: String
    /// A human-readable reason; never contains secret values.
    public var reason: String

    public init(code: Code, field: String, reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { "invalid \(field) (\(code)): \(reason)" }
}
