public import NIOCore

/// Where ``OCRClient/downloadResult(from:into:)`` streams a result file.
///
/// Called in order: ``write(_:)`` for each chunk, then ``finish()`` once all bytes arrived,
/// or ``reset()`` before a retry starts over, or ``abort()`` when the download fails for
/// good. A sink should make the result visible only on ``finish()``, so a reader never
/// sees a partial file. Methods are called from one task at a time.
public protocol ResultSink: Sendable {
    func write(_ chunk: ByteBuffer) async throws
    /// All bytes were written; make them durable and visible.
    func finish() async throws
    /// Discard what was written; the download starts again.
    func reset() async throws
    /// Discard what was written; no more calls follow.
    func abort() async
}
