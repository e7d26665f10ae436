public import JobCore
public import OCRClient

extension ProviderFailure {
    /// The client's error in the job engine's terms. Its description is already redacted
    /// (no key, no query string of a presigned URL), so it may go into results.
    public init(_ error: OCRClientError) {
        self.init(
            action: error.action, code: error.status.map { "http_\($0)" } ?? error.code.rawValue,
            isForbiddenAddress: error.code == .forbiddenAddress, message: "\(error)")
    }
}
