public import NIOCore
import _NIOFileSystem

/// A ``ResultSink`` that writes a file. The file is created without a name (transactional
/// creation) and appears at ``path`` only on ``finish()``, replacing any file there;
/// after ``abort()`` nothing is left behind.
public actor FileResultSink: ResultSink {
    public nonisolated let path: String
    private var handle: WriteFileHandle?
    private var offset: Int64 = 0

    public init(path: String) {
        self.path = path
    }

    public func write(_ chunk: ByteBuffer) async throws {
        let handle = try await openIfNeeded()
        offset += try await handle.write(contentsOf: chunk.readableBytesView, toAbsoluteOffset: offset)
    }

    public func finish() async throws {
        let handle = try await openIfNeeded()
        self.handle = nil
        try await handle.close(makeChangesVisible: true)
    }

    public func reset() async throws {
        await abort()
    }

    public func abort() async {
        let handle = self.handle
        self.handle = nil
        offset = 0
        try? await handle?.close(makeChangesVisible: false)
    }

    private func openIfNeeded() async throws -> WriteFileHandle {
        if let handle { return handle }
        let opened = try await FileSystem.shared.openFile(
            forWritingAt: FilePath(path), options: .newFile(replaceExisting: true))
        handle = opened
        offset = 0
        return opened
    }
}
