/// Why a Kafka message is not a valid job. Safe to log and to publish: the message never
/// contains the password, a URL's query string or userinfo, or any other input verbatim.
public struct JobRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable machine code (the `error.code` of the failed result and the
    /// `ocr.error.code` header).
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The record's value, key or headers pass the decoder's size caps; the value was
        /// not read (dead letter only).
        public static let recordTooLarge = Code(rawValue: "record_too_large")
        /// The record has a null value (a tombstone).
        public static let nullValue = Code(rawValue: "null_value")
        /// The value is not one JSON document (or names a member twice).
        public static let malformedJSON = Code(rawValue: "malformed_json")
        /// The value is JSON but not an object.
        public static let notAnObject = Code(rawValue: "not_an_object")
        /// No `job_id`, or null.
        public static let missingJobID = Code(rawValue: "missing_job_id")
        /// `job_id` is not 1 to 128 characters of `[A-Za-z0-9._:@/-]`.
        public static let invalidJobID = Code(rawValue: "invalid_job_id")
        /// No `source` object or no `source.url`.
        public static let missingSource = Code(rawValue: "missing_source")
        /// `source.url` is not an absolute http(s) URL with a host.
        public static let invalidURL = Code(rawValue: "invalid_url")
        /// More than 10 language names.
        public static let tooManyLanguages = Code(rawValue: "too_many_languages")
        /// A language list that is empty, has a bad or repeated name, or the wrong type.
        public static let invalidLanguage = Code(rawValue: "invalid_language")
        /// A password over 32 characters.
        public static let passwordTooLong = Code(rawValue: "password_too_long")
        /// A password of the wrong type or with control or format characters.
        public static let invalidPassword = Code(rawValue: "invalid_password")
        /// A `format` other than txt, pdf, docx, xlsx, pptx.
        public static let unknownFormat = Code(rawValue: "unknown_format")
        /// `metadata` is not an object.
        public static let invalidMetadata = Code(rawValue: "invalid_metadata")
        /// `metadata` is over 16 KiB as serialized in the message.
        public static let metadataTooLarge = Code(rawValue: "metadata_too_large")
        /// `deadline` is not an RFC 3339 date-time.
        public static let invalidDeadline = Code(rawValue: "invalid_deadline")
    }

    public var code: Code
    /// Human-readable, safe to log.
    public var message: String
    /// The job's id when the message had a valid one: the job then also gets a `failed`
    /// result. `nil` means dead letter only.
    public var jobID: String?
    /// The offending field (`source.url`, `language`, ...), when there is one.
    public var field: String?

    public init(code: Code, message: String, jobID: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.jobID = jobID
        self.field = field
    }

    /// Always ``ErrorClass/invalidJob``.
    public var errorClass: ErrorClass { .invalidJob }

    public var description: String { "\(code): \(message)" }
}
