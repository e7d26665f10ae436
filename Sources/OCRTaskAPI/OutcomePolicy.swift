import Foundation

/// The one table that maps an outcome to what the caller does (docs/architecture.md, "The OCR task API").
///
/// Pure and total: every status, state and transport failure has a row, including ones
/// the documentation does not list. The rows, by outcome:
///
/// | Outcome | Endpoint | Action |
/// |---|---|---|
/// | state 1 | query | ``CallerAction/done`` |
/// | state 0, 2, 3, 4, unknown `>= 0` | query | ``CallerAction/keepPolling`` |
/// | state -1, -2, -8 | query | ``CallerAction/recreateTask`` |
/// | state -3 | query | ``CallerAction/uploadFileInstead`` |
/// | state -5, -7 | query | ``CallerAction/permanentFailure`` |
/// | state unknown `< 0` | query | ``CallerAction/permanentFailure`` (1) |
/// | created | create | ``CallerAction/keepPolling`` |
/// | downloaded | download, source | ``CallerAction/done`` |
/// | 408, 429, 5xx | any | ``CallerAction/retryLater(after:)`` with Retry-After, at most ``maximumRetryAfter`` (3) |
/// | 401, 403 | create, query | ``CallerAction/deploymentFault`` |
/// | 404 | query | ``CallerAction/recreateTask`` (the task we created is gone) |
/// | 404 | create | ``CallerAction/deploymentFault`` (the endpoint is missing: wrong base URL) |
/// | 400, 413, other 3xx/4xx | create, query | ``CallerAction/permanentFailure`` |
/// | 401, 403, 404, 410 | download | ``CallerAction/refreshResultURL`` (URL expired) |
/// | other 3xx/4xx | download | ``CallerAction/refreshResultURL`` |
/// | any 3xx/4xx | source | ``CallerAction/permanentFailure`` (the job's URL is bad) |
/// | 2xx | any | ``CallerAction/retryLater(after:)`` (2) |
/// | transport failure (timeouts, refused, reset, truncated, malformed, DNS, other) | any | ``CallerAction/retryLater(after:)`` |
/// | TLS failure | create, query | ``CallerAction/deploymentFault`` (configuration) |
/// | TLS failure | source | ``CallerAction/permanentFailure`` |
/// | TLS failure | download | ``CallerAction/retryLater(after:)`` |
///
/// (1) An undocumented negative state is a failure by the provider's convention, but we
/// cannot know whether a new task would help. Failing fast keeps the provider budget for
/// jobs that can succeed; the dead letter carries the state, so ops can replay the jobs
/// once the state is understood. Re-creating instead could loop on every such job.
///
/// (2) A success status only reaches this table when its body lacked what the call needs
/// (the caller reports it as `.http`): treated like a malformed reply.
///
/// (3) A provider that asks for an hour, a day or a year (a misconfigured proxy, a date
/// header from a broken clock) would otherwise park every job of the pod for that long;
/// past five minutes the request is tried again, and a provider still refusing answers
/// with another Retry-After.
public enum OutcomePolicy {
    /// The longest wait a provider's `Retry-After` can impose on us.
    public static let maximumRetryAfter: Duration = .seconds(300)

    public static func action(for outcome: TaskOutcome) -> CallerAction {
        switch outcome {
        case .created:
            return .keepPolling
        case .downloaded:
            return .done
        case .task(let state):
            return action(for: state)
        case .http(let status, let endpoint, let retryAfter):
            return action(status: status, endpoint: endpoint, retryAfter: retryAfter)
        case .transport(let failure, let endpoint):
            guard failure == .tlsFailure else { return .retryLater(after: nil) }
            switch endpoint {
            case .create, .query: return .deploymentFault
            case .sourceFetch: return .permanentFailure
            case .download: return .retryLater(after: nil)
            }
        }
    }

    /// The task-state rows.
    public static func action(for state: TaskState) -> CallerAction {
        switch state {
        case .success: return .done
        case .failed, .resultUploadFailed, .processingTimeout: return .recreateTask
        case .sourceDownloadFailed: return .uploadFileInstead
        case .tooLarge, .invalidFile: return .permanentFailure
        default: return state.rawValue >= 0 ? .keepPolling : .permanentFailure
        }
    }

    /// The HTTP-status rows.
    public static func action(status: Int, endpoint: TaskEndpoint, retryAfter: Duration? = nil) -> CallerAction {
        switch status {
        case 200..<300:
            return .retryLater(after: nil)
        case 408, 429, 500..<600:
            return .retryLater(after: retryAfter.map { min($0, maximumRetryAfter) })
        default:
            break
        }
        switch endpoint {
        case .download:
            return .refreshResultURL
        case .sourceFetch:
            return .permanentFailure
        case .create, .query:
            switch status {
            case 401, 403: return .deploymentFault
            case 404: return endpoint == .query ? .recreateTask : .deploymentFault
            default: return .permanentFailure
            }
        }
    }
}
