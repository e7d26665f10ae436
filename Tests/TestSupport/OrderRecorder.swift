import Synchronization

/// Records strings appended from several tasks, in the order they arrived.
public final class OrderRecorder: Sendable {
    private let storage = Mutex<[String]>([])

    public init() {}

    public func append(_ value: String) { storage.withLock { $0.append(value) } }
    public var values: [String] { storage.withLock { $0 } }
}
