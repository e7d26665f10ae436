/// What the worker knows about a task before creating it, and so what its duration is
/// learned by: durations of tasks with the same key are fitted together.
public struct DurationKey: Sendable, Hashable, CustomStringConvertible {
    /// Which provider runs the task (the API host: never a key or a path).
    public var provider: String
    /// The requested output format (`txt`, `pdf`, `docx`, ...).
    public var format: String
    /// ``sizeBucket(bytes:)`` of the source, when its size is known before the create
    /// (an upload's length); nil when it is not (a URL the provider fetches).
    public var sizeBucket: Int?

    public init(provider: String, format: String, sizeBucket: Int? = nil) {
        self.provider = provider
        self.format = format
        self.sizeBucket = sizeBucket
    }

    /// The same key without the size: the fallback while a size bucket has too few tasks.
    public var withoutSize: DurationKey { DurationKey(provider: provider, format: format) }

    /// The key of a task whose create uploaded `bytes` of its source: with their size
    /// bucket. Nothing uploaded (0: the provider fetched the URL itself, so the worker never
    /// saw the size) gives the key without a size.
    public func sized(uploadedBytes bytes: Int64) -> DurationKey {
        guard bytes > 0 else { return withoutSize }
        return DurationKey(provider: provider, format: format, sizeBucket: Self.sizeBucket(bytes: bytes))
    }

    /// Doubling buckets: 0 up to 128 KiB, then 1, 2, ... per doubling, at most 16.
    public static func sizeBucket(bytes: Int64) -> Int {
        var bucket = 0
        var limit: Int64 = 128 * 1024
        while bytes > limit, bucket < 16 {
            bucket += 1
            limit *= 2
        }
        return bucket
    }

    public var description: String { "\(provider)/\(format)" + (sizeBucket.map { "/size\($0)" } ?? "") }
}
