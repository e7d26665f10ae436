/// What ``OCRClient/downloadResult(from:into:)`` streamed into the sink.
public struct DownloadedResult: Sendable, Hashable {
    public var size: Int64
    /// Lowercase hex SHA-256 of the bytes written.
    public var sha256: String
    /// The `Content-Type` the server sent, if any.
    public var contentType: String?
    public var attempts: Int

    public init(size: Int64, sha256: String, contentType: String?, attempts: Int = 1) {
        self.size = size
        self.sha256 = sha256
        self.contentType = contentType
        self.attempts = attempts
    }
}
