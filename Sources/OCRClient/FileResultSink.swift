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
        try await Self.close(handle, makeChangesVisible: true)
    }

    public func reset() async throws {
        await abort()
    }

    public func abort() async {
        let handle = self.handle
        self.handle = nil
        offset = 0
        if let handle { try? await Self.close(handle, makeChangesVisible: false) }
    }

    /// Closes `handle` even when the caller is cancelled (a download past its deadline is
    /// cancelled, then aborts its sink): NIO's file system refuses work in a cancelled
    /// task, and a handle dropped unclosed is a fatal error. So the close runs in a task of
    /// its own, which does not inherit the cancellation.
    private static func close(_ handle: WriteFileHandle, makeChangesVisible: Bool) async throws {
        try await Task { try await handle.close(makeChangesVisible: makeChangesVisible) }.value
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
