internal import Crdkafka
import Foundation
import Synchronization

/// Drains one librdkafka queue on a dedicated thread until told to stop.
///
/// The thread blocks inside `rd_kafka_queue_poll` (up to ``pollTimeoutMs``) so it reacts
/// at once to events without spinning, and it is never a thread of Swift's cooperative
/// pool. Events are handed to `handle` on this thread, in order. For a consumer, the
/// loop never stops while the client is open: polling the consumer queue is what keeps
/// the member in its group (`max.poll.interval.ms`), paused partitions or not.
final class PollLoop: Sendable {
    static let pollTimeoutMs: Int32 = 100

    private let queue: UncheckedQueue
    private let stopRequested = Atomic<Bool>(false)
    /// When the loop last came back from a poll (`DispatchTime` uptime nanoseconds).
    private let lastTurn = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Wraps the `rd_kafka_queue_t` pointer; the queue is only used from the loop thread.
    private struct UncheckedQueue: @unchecked Sendable { let pointer: OpaquePointer }

    /// - Parameters:
    ///   - name: the thread's name, for debuggers and `top -H`.
    ///   - queue: the queue to poll; the loop destroys it when it ends.
    ///   - handle: called on the loop thread with each event and its type; the loop
    ///     destroys the event afterwards.
    ///   - shouldExit: asked after each poll once a stop was requested; lets a consumer
    ///     keep serving its queue until its close completed.
    ///   - onExit: runs on the loop thread after the last poll.
    init(
        name: String,
        queue: OpaquePointer,
        handle: @escaping @Sendable (OpaquePointer, Int32) -> Void,
        shouldExit: @escaping @Sendable () -> Bool = { true },
        onExit: @escaping @Sendable () -> Void = {}
    ) {
        self.queue = UncheckedQueue(pointer: queue)
        let thread = Thread { [self] in
            while true {
                if let event = rd_kafka_queue_poll(self.queue.pointer, Self.pollTimeoutMs) {
                    handle(event, rd_kafka_event_type(event))
                    rd_kafka_event_destroy(event)
                }
                self.lastTurn.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                if self.stopRequested.load(ordering: .acquiring), shouldExit() { break }
            }
            rd_kafka_queue_destroy(self.queue.pointer)
            onExit()
            let waiters = self.finished.withLock { state in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for w in waiters { w.resume() }
        }
        thread.name = name
        thread.start()
    }

    /// How long ago the loop last came back from a poll: at most ``pollTimeoutMs`` plus
    /// the time one event takes to handle, while it is healthy.
    var sinceLastTurn: Duration {
        let now = DispatchTime.now().uptimeNanoseconds
        let last = lastTurn.load(ordering: .relaxed)
        return .nanoseconds(Int64(now >= last ? now - last : 0))
    }

    /// Asks the loop to end; it ends after the current poll once `shouldExit` agrees.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Waits until the loop thread has exited.
    func waitUntilFinished() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = finished.withLock { state in
                if state.done { return true }
                state.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}
