import Foundation

/// What a caller should do after one outcome of a call (docs/architecture.md, "The OCR task API"). Produced by
/// ``OutcomePolicy/action(for:)``; the bounds (how many re-creates, one upload retry,
/// how many retries) are the caller's to enforce.
public enum CallerAction: Sendable, Hashable, CustomStringConvertible {
    /// The task succeeded (or the download completed): use the result.
    case done
    /// The task is pending (or was just created): poll again later.
    case keepPolling
    /// Transient: try the same call again after a backoff with full jitter; when `after`
    /// is set (Retry-After), wait at least that long.
    case retryLater(after: Duration?)
    /// The task is lost or failed in a way a new task may fix: create a new one (bounded).
    case recreateTask
    /// The provider could not download the source: upload the bytes ourselves (once).
    case uploadFileInstead
    /// The result URL expired or vanished: query the task for a fresh URL, else re-create.
    case refreshResultURL
    /// The job cannot succeed: failed result and dead letter.
    case permanentFailure
    /// Bad key or service disabled: a fault of the deployment, not the job. Pause, report
    /// not-ready, re-check; never dead-letter because of it.
    case deploymentFault

    /// A stable name for metrics and logs.
    public var name: String {
        switch self {
        case .done: "done"
        case .keepPolling: "keep_polling"
        case .retryLater: "retry_later"
        case .recreateTask: "recreate_task"
        case .uploadFileInstead: "upload_file_instead"
        case .refreshResultURL: "refresh_result_url"
        case .permanentFailure: "permanent_failure"
        case .deploymentFault: "deployment_fault"
        }
    }

    public var description: String {
        if case .retryLater(let after?) = self { return "retry_later(after: \(after))" }
        return name
    }
}
