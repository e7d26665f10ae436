/// When to poll a task next, and which rule placed the poll.
public struct PollDecision: Sendable, Hashable {
    public enum Basis: Sendable, Hashable {
        /// Too few tasks seen for this key: today's backoff (``PollBackoff``).
        case coldStart
        /// The fitted duration distribution, conditioned on the task being pending.
        case durationModel
        /// The linear reading of the provider's `progress` (trusted for this provider).
        case progress
        /// The duration fit, within the interval the progress step bounds the duration to
        /// (step-wise progress, trusted as a bound for this provider).
        case progressBound
        /// The detection lag bound shortened the gap.
        case lagBound
        /// The provider's `Retry-After` on the poll reply postponed the poll.
        case retryAfter

        /// As a metric label value (`cold_start`, `duration_model`, ...).
        public var label: String {
            switch self {
            case .coldStart: "cold_start"
            case .durationModel: "duration_model"
            case .progress: "progress"
            case .progressBound: "progress_bound"
            case .lagBound: "lag_bound"
            case .retryAfter: "retry_after"
            }
        }
    }

    /// From now (the poll just answered, or the create).
    public var delay: Duration
    public var basis: Basis

    public init(delay: Duration, basis: Basis) {
        self.delay = delay
        self.basis = basis
    }
}
