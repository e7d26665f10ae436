import Crypto
import Foundation
import HexEncoding
import NIOCore
public import NIOPosix
import OCRTaskAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Result files in a local directory (the default store).
///
/// Each file is written to a hidden temporary file in its final directory, fsynced, then
/// renamed over the final name and the directory fsynced, so a reader sees either the
/// previous file or the complete new one, and a crash leaves at worst a `.*.partial` file.
/// Blocking file calls run on NIO's thread pool, never on the cooperative pool.
///
/// Results are other people's documents: files are created 0600 and directories 0700, so
/// only the worker's user reads them. A writer holds an exclusive `flock` on its partial
/// file while it writes; ``removeAbandonedPartialFiles()`` (the worker calls it at start)
/// removes every partial file nobody holds (a crash's) and leaves alone those another pod
/// sharing the directory is writing now.
public struct DirectoryResultStore: ResultStore {
    /// Absolute, standardised root directory.
    public let root: String
    let threadPool: NIOThreadPool

    /// `root` is created (with its parents) if missing.
    public init(root: String, threadPool: NIOThreadPool = .singleton) throws {
        guard root.hasPrefix("/") else {
            throw ResultStoreError(code: .invalidConfiguration, message: "the result directory must be an absolute path")
        }
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
        self.threadPool = threadPool
        do {
            try FileManager.default.createDirectory(
                atPath: self.root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ResultStoreError(code: .io, message: "cannot create \(self.root): \(error.localizedDescription)")
        }
    }

    public func removeAbandonedPartialFiles() async -> Int {
        let root = root
        return (try? await threadPool.runIfActive { Self.removeAbandonedPartialFiles(under: root) }) ?? 0
    }

    /// Removes the `.*.partial` files below `root` that no writer holds (their writer
    /// crashed) and that were last written more than `minimumAge` ago (a writer takes its
    /// lock just after it creates the file); returns how many. Blocking: call it off the
    /// cooperative pool.
    @discardableResult
    static func removeAbandonedPartialFiles(under root: String, minimumAge: TimeInterval = 60) -> Int {
        let cutoff = Date().timeIntervalSince1970 - minimumAge
        guard let names = FileManager.default.enumerator(atPath: root) else { return 0 }
        var removed = 0
        while let relative = names.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard name.hasPrefix("."), name.hasSuffix(".partial") else { continue }
            let path = root + "/" + relative
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var status = stat()
            guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, Double(status.st_mtim.tv_sec) < cutoff
            else { continue }
            // A writer holds its lock until it renames or unlinks the file.
            if flock(fd, LOCK_EX | LOCK_NB) == 0, unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    public func path(forKey key: String) throws(ResultStoreError) -> String {
        root + "/" + (try ResultKey.sanitize(key))
    }

    public func location(forKey key: String) throws -> String {
        URL(fileURLWithPath: try path(forKey: key)).absoluteString
    }

    public func makeWriter(key: String, contentType: String) async throws -> any ResultWriter {
        let finalPath = try path(forKey: key)
        let location = URL(fileURLWithPath: finalPath).absoluteString
        let directory = (finalPath as NSString).deletingLastPathComponent
        let name = (finalPath as NSString).lastPathComponent
        let tempPath = directory + "/." + name + "." + UUID().uuidString.prefix(8) + ".partial"
        let fd = try await threadPool.runIfActive { () throws -> Int32 in
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Self.posixError("open", tempPath) }
            // Held until the file is renamed or removed: the start-up sweep skips it.
            _ = flock(fd, LOCK_EX | LOCK_NB)
            return fd
        }
        return DirectoryResultWriter(
            fd: fd, tempPath: tempPath, finalPath: finalPath, directory: directory, location: location,
            contentType: contentType, threadPool: threadPool)
    }

    static func posixError(_ call: String, _ path: String, _ code: Int32 = errno) -> ResultStoreError {
        ResultStoreError(code: .io, message: "\(call) \(path): \(String(cString: strerror(code)))")
    }
}

/// Writes one file for ``DirectoryResultStore``.
actor DirectoryResultWriter: ResultWriter {
    private var fd: Int32
    private let tempPath: String
    private let finalPath: String
    private let directory: String
    private let location: String
    private let contentType: String
    private let threadPool: NIOThreadPool
    private var size: Int64 = 0
    private var hasher = SHA256()

    init(
        fd: Int32, tempPath: String, finalPath: String, directory: String, location: String, contentType: String,
        threadPool: NIOThreadPool
    ) {
        self.fd = fd
        self.tempPath = tempPath
        self.finalPath = finalPath
        self.directory = directory
        self.location = location
        self.contentType = contentType
        self.threadPool = threadPool
    }

    deinit {
        // Dropped without finish() or abort(): leave nothing behind.
        if fd >= 0 {
            close(fd)
            unlink(tempPath)
        }
    }

    func write(_ chunk: ByteBuffer) async throws {
        let fd = try openDescriptor()
        let offset = size
        let path = tempPath
        try await threadPool.runIfActive {
            try chunk.withUnsafeReadableBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw DirectoryResultStore.posixError("write", path)
                    }
                    done += n
                }
            }
        }
        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        size += Int64(chunk.readableBytes)
    }

    func finish() async throws -> StoredObject {
        let fd = try openDescriptor()
        self.fd = -1
        let (temp, final, directory) = (tempPath, finalPath, directory)
        try await threadPool.runIfActive {
            defer { close(fd) }
            guard fsync(fd) == 0 else {
                let error = DirectoryResultStore.posixError("fsync", temp)
                unlink(temp)
                throw error
            }
            guard rename(temp, final) == 0 else {
                let error = DirectoryResultStore.posixError("rename", final)
                unlink(temp)
                throw error
            }
            let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dirFD >= 0 {
                _ = fsync(dirFD)
                close(dirFD)
            }
        }
        let digest = Hex.lowercase(hasher.finalize())
        return StoredObject(location: location, size: size, sha256: digest, contentType: contentType)
    }

    func reset() async throws {
        let fd = try openDescriptor()
        let path = tempPath
        try await threadPool.runIfActive {
            guard ftruncate(fd, 0) == 0 else { throw DirectoryResultStore.posixError("truncate", path) }
        }
        size = 0
        hasher = SHA256()
    }

    func abort() async {
        let fd = self.fd
        self.fd = -1
        guard fd >= 0 else { return }
        let path = tempPath
        do {
            try await threadPool.runIfActive {
                close(fd)
                unlink(path)
            }
        } catch {
            close(fd)
            unlink(path)
        }
    }

    private func openDescriptor() throws(ResultStoreError) -> Int32 {
        guard fd >= 0 else {
            throw ResultStoreError(code: .misuse, message: "the writer for \(finalPath) is already finished or aborted")
        }
        return fd
    }
}
