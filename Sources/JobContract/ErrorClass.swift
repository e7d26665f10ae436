/// Why a job failed, as one word: the `error.class` of a failed result and the
/// `ocr.error.class` header of a dead letter. Dashboards and alerts group by it, so the raw
/// values are part of the contract (schemas/result.schema.json lists them).
public enum ErrorClass: String, Sendable, Hashable, Codable, CaseIterable {
    /// The message broke the job contract (schemas/job.schema.json); see ``JobRejection``.
    case invalidJob = "invalid_job"
    /// The provider refused the job for good: HTTP 400 or 413, task states -5 and -7.
    case providerRejected = "provider_rejected"
    /// The task kept failing (states -1, -2, -8) after the bounded number of re-creates.
    case providerFailed = "provider_failed"
    /// The provider could not download the source (state -3), and neither could we.
    case sourceUnreachable = "source_unreachable"
    /// The job's `deadline` passed before it finished.
    case deadlineExceeded = "deadline_exceeded"
    /// The result file could not be copied into the result store.
    case rehostFailed = "rehost_failed"
    /// A fault of the worker itself.
    case `internal` = "internal"

    /// A Java-style class name for the tools that show `kafka_dlt-exception-fqcn` and
    /// `__connect.errors.exception.class.name` (`ocr_worker.invalid_job`).
    public var exceptionClassName: String { "ocr_worker." + rawValue }

    /// The inverse of ``exceptionClassName``.
    public init?(exceptionClassName: String) {
        guard exceptionClassName.hasPrefix("ocr_worker.") else { return nil }
        self.init(rawValue: String(exceptionClassName.dropFirst("ocr_worker.".count)))
    }
}
