/// Why a streamed multipart body stopped (thrown from inside the request body, surfaced by
/// ``OCRClient`` as a typed error).
enum MultipartBodyError: Error, Sendable {
    /// More content than the document limit.
    case limitExceeded(limit: Int64)
    /// The content ended before (or ran past) its declared length.
    case lengthMismatch(expected: Int64, actual: Int64)
}
