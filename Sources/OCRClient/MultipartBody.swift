import NIOCore

/// A streamed `multipart/form-data` body: the framing's head, the file's chunks as they
/// arrive from `Content` (a file on disk or a download in progress), then the tail.
///
/// Holds one chunk at a time: the HTTP client pulls the next chunk only when the
/// connection accepts more, so memory stays flat whatever the document's size. Enforces a
/// byte limit on the content (a source without a declared length could otherwise be
/// unbounded) and, when the length was declared, that the content matches it.
struct MultipartBody<Content: AsyncSequence & Sendable>: AsyncSequence, Sendable
where Content.Element == ByteBuffer {
    typealias Element = ByteBuffer

    let framing: MultipartFraming
    let content: Content
    let maxContentBytes: Int64
    let expectedContentBytes: Int64?

    struct AsyncIterator: AsyncIteratorProtocol {
        enum Phase { case head, content, tail, done }
        var phase = Phase.head
        let framing: MultipartFraming
        var inner: Content.AsyncIterator
        let maxContentBytes: Int64
        let expectedContentBytes: Int64?
        var sent: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            while true {
                switch phase {
                case .head:
                    phase = .content
                    return framing.head
                case .content:
                    if let chunk = try await inner.next() {
                        sent += Int64(chunk.readableBytes)
                        if sent > maxContentBytes { throw MultipartBodyError.limitExceeded(limit: maxContentBytes) }
                        if let expected = expectedContentBytes, sent > expected {
                            throw MultipartBodyError.lengthMismatch(expected: expected, actual: sent)
                        }
                        if chunk.readableBytes == 0 { continue }
                        return chunk
                    }
                    if let expected = expectedContentBytes, sent != expected {
                        throw MultipartBodyError.lengthMismatch(expected: expected, actual: sent)
                    }
                    phase = .tail
                case .tail:
                    phase = .done
                    return framing.tail
                case .done:
                    return nil
                }
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            framing: framing, inner: content.makeAsyncIterator(), maxContentBytes: maxContentBytes,
            expectedContentBytes: expectedContentBytes)
    }
}
