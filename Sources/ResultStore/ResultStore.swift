public import NIOCore

/// What a finished upload produced.
public struct StoredObject: Sendable, Hashable {
    /// Where the file is: `file:///abs/path` or `s3://bucket/key`. Goes into the result's
    /// `result.location`.
    public var location: String
    public var size: Int64
    /// SHA-256 of the bytes, lowercase hex.
    public var sha256: String
    public var contentType: String

    public init(location: String, size: Int64, sha256: String, contentType: String) {
        self.location = location
        self.size = size
        self.sha256 = sha256
        self.contentType = contentType
    }
}

/// Where the worker rehosts result files (docs/architecture.md). A store hands
/// out one ``ResultWriter`` per file; the file is streamed through it and becomes visible
/// under its key only when ``ResultWriter/finish()`` succeeds, replacing an earlier file
/// with the same key (a retried job writes the same key again).
public protocol ResultStore: Sendable {
    /// Starts a file under `key` (see ``ResultKey``). Throws ``ResultStoreError`` with code
    /// `.invalidKey` for keys that cannot be stored safely.
    func makeWriter(key: String, contentType: String) async throws -> any ResultWriter
    /// The location the file for `key` will have (``StoredObject/location``).
    func location(forKey key: String) throws -> String
    /// Removes what crashed writers left behind (partial files nobody holds); returns
    /// how many. The worker calls it once at start, in the background.
    func removeAbandonedPartialFiles() async -> Int
}

extension ResultStore {
    /// Stores whose writes are atomic on the server side (S3) leave nothing behind.
    public func removeAbandonedPartialFiles() async -> Int { 0 }
}

/// One file being written. Calls come from one task at a time, in the order: any number of
/// ``write(_:)``, then ``finish()`` or ``abort()``; ``reset()`` discards what was written
/// so a download can start over. Nothing holds the whole file in memory.
public protocol ResultWriter: Sendable {
    func write(_ chunk: ByteBuffer) async throws
    /// Makes the file durable and visible; returns where it is, its size and hash.
    func finish() async throws -> StoredObject
    /// Discards the bytes written so far; the writer can be used again.
    func reset() async throws
    /// Discards everything; no calls follow. Never throws: it is what failure paths call.
    func abort() async
}

/// Why a store operation failed. Messages never contain credentials or signatures.
public struct ResultStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidKey = Code(rawValue: "invalid_key")
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
        public static let io = Code(rawValue: "io")
        public static let http = Code(rawValue: "http")
        public static let misuse = Code(rawValue: "misuse")
    }

    public var code: Code
    public var message: String
    /// The HTTP status, for `.http`.
    public var status: Int?

    public init(code: Code, message: String, status: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { "result store \(code): \(message)" }
}
