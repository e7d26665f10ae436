import NIOCore
import Synchronization

/// Counts bytes flowing through an async sequence of buffers (shared with the sequence,
/// read after it ends).
final class ByteCounter: Sendable {
    private let count = Atomic<Int64>(0)

    func add(_ bytes: Int) { count.add(Int64(bytes), ordering: .relaxed) }

    var value: Int64 { count.load(ordering: .relaxed) }
}

extension AsyncSequence where Self: Sendable, Element == ByteBuffer {
    /// The same chunks, each counted by `counter`.
    func counted(by counter: ByteCounter) -> AsyncMapSequence<Self, ByteBuffer> {
        map { chunk in
            counter.add(chunk.readableBytes)
            return chunk
        }
    }
}
