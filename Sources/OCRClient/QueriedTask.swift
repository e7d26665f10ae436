public import Foundation
public import OCRTaskAPI

/// A task query's answer: the record, and the `Retry-After` the successful reply carried.
///
/// PicWish answers a poll of a busy task with 200 and the pending record; a provider may
/// add a `Retry-After` to say when asking again is worth it. On a 200 it is advice about
/// this task, not throttling (429s and 5xx go to the request budget instead), so it is
/// handed to the poll planner and never pauses the key.
public struct QueriedTask: Sendable, Hashable {
    public var record: TaskRecord
    /// The reply's `Retry-After`, converted by ``pollRetryAfter(_:now:)``; nil when the
    /// reply had none, or one that could not be read, or one in the past.
    public var retryAfter: Duration?

    public init(record: TaskRecord, retryAfter: Duration? = nil) {
        self.record = record
        self.retryAfter = retryAfter
    }

    /// The longest `Retry-After` a poll honours: a reply cannot park a task for longer
    /// (an absurd value, a date years ahead, is this; the task timeout still applies).
    /// The same bound as every other reply's (``OutcomePolicy/maximumRetryAfter``).
    public static let maximumRetryAfter: Duration = OutcomePolicy.maximumRetryAfter

    /// A `Retry-After` header value (delay-seconds or an HTTP-date, ``RetryAfter``) as a
    /// poll delay: zero (a date in the past, "0") and unreadable values are nil, anything
    /// longer than ``maximumRetryAfter`` is that.
    public static func pollRetryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value, let delay = RetryAfter.parse(value, now: now), delay > .zero else { return nil }
        return min(delay, maximumRetryAfter)
    }
}
