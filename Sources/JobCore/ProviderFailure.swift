public import OCRTaskAPI

/// A provider call that failed, in the terms the job's rules need: what the task API's
/// contract says to do about it, the `code` a failed result carries, and a message fit to
/// publish. The client's own error type stays behind the port (`Worker/Adapters`), so the
/// machine's rules read the same whatever client performs the calls.
public struct ProviderFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the contract assigns to this failure (`OutcomePolicy`).
    public var action: CallerAction
    /// The `code` of a failed result: the HTTP status (`http_413`), else the client's error
    /// code (`forbidden_address`, `connect_timeout`, ...).
    public var code: String
    /// Our own download of the document (to upload it) was refused by the address rule:
    /// the source is unreachable for us, not rejected by the provider.
    public var isForbiddenAddress: Bool
    /// The client's description: secrets (key, query strings of presigned URLs) already
    /// redacted, so it can go into results, dead letters and logs.
    public var message: String

    public init(action: CallerAction, code: String, isForbiddenAddress: Bool = false, message: String) {
        self.action = action
        self.code = code
        self.isForbiddenAddress = isForbiddenAddress
        self.message = message
    }

    public var description: String { message }
}
