public import Foundation
public import OCRTaskAPI

/// A validated job from the `ocr.jobs` topic (schemas/job.schema.json).
///
/// Built by ``JobDecoder``. The password is never part of ``description`` or
/// ``debugDescription`` (so never of a log line or an interpolated string), and
/// ``metadata`` keeps the exact bytes of the message so it can be echoed verbatim.
public struct Job: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The idempotency key: 1 to 128 characters of `[A-Za-z0-9._:@/-]`.
    public let jobID: String
    /// The document (`source.url`), http or https.
    public let source: DocumentURL
    /// Languages, password and output format, validated by the OCR task API's rules.
    public let options: TaskOptions
    /// `metadata` exactly as it was in the message, or `nil` when absent or null.
    public let metadata: RawJSON?
    /// `deadline`, when given.
    public let deadline: RFC3339.Instant?
    /// SHA-256 (lowercase hex) of the job's canonical form; see ``JobDecoder``.
    public let fingerprint: String

    public var languages: LanguageList { options.languages }
    public var format: OutputFormat { options.format }
    /// The document password. A secret: keep it out of logs, results and dead letters.
    public var password: String? { options.password }

    public init(
        jobID: String, source: DocumentURL, options: TaskOptions, metadata: RawJSON?,
        deadline: RFC3339.Instant?, fingerprint: String
    ) {
        self.jobID = jobID
        self.source = source
        self.options = options
        self.metadata = metadata
        self.deadline = deadline
        self.fingerprint = fingerprint
    }

    /// Whether the deadline (if any) is before `now`.
    public func isPastDeadline(at now: Date) -> Bool {
        guard let deadline else { return false }
        return deadline.date < now
    }

    public var description: String {
        var text = "job \(jobID) source=\(source) \(options)"
        if let deadline { text += " deadline=\(deadline)" }
        return text + " fingerprint=\(fingerprint.prefix(12))"
    }

    public var debugDescription: String { "Job(\(description))" }

    /// What `dump` and debuggers show: the password replaced by `<redacted>`.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "jobID": jobID, "source": source.description, "languages": languages.commaSeparated,
                "format": format.rawValue, "password": password == nil ? "none" : "<redacted>",
                "metadata": metadata as Any, "deadline": deadline as Any, "fingerprint": fingerprint,
            ],
            displayStyle: .struct)
    }
}
