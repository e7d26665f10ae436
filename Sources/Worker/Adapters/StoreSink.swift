import NIOCore
import OCRClient
import ResultStore
import Synchronization

/// Lets the OCR client stream a result download straight into a result-store writer.
final class StoreSink: ResultSink {
    private let writer: any ResultWriter
    private let finished = Mutex<StoredObject?>(nil)

    init(_ writer: any ResultWriter) { self.writer = writer }

    /// What the store made of the file, once ``finish()`` returned.
    var stored: StoredObject? { finished.withLock { $0 } }

    func write(_ chunk: ByteBuffer) async throws { try await writer.write(chunk) }

    func finish() async throws {
        let object = try await writer.finish()
        finished.withLock { $0 = object }
    }

    func reset() async throws { try await writer.reset() }

    func abort() async { await writer.abort() }
}
