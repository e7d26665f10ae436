import DequeModule
import Synchronization

/// A cancellable counting semaphore whose waiters are served first come, first served,
/// and fairly among keys: the one queue behind the worker's create limit, ocr-server's
/// download, preparation and engine limits, and the engine pool's slots.
///
/// At most `limit` permits are held at once. A free permit goes to the waiting key that
/// holds the fewest permits now; among those to the key served longest ago (a key never
/// served comes first); a key's own waiters go in arrival order. With one key (the
/// default, `""`) this is a plain FIFO semaphore. So one key's backlog never runs ahead of
/// another key's first request: a key with nothing running gets the next free permit,
/// however many requests another key queued before it.
///
/// With `keepsOneForIdleKeys`, a key that already holds a permit never takes the last free
/// one: it stays for a key that holds none. For work that may hold a permit for long
/// (downloads from a slow source): that key alone runs at most `limit - 1` at once.
///
/// A waiter whose task is cancelled leaves the queue and gets `CancellationError`; a
/// permit is never lost to a cancelled waiter. State changes happen under one lock and
/// return the continuation to resume, which is resumed outside the lock.
public final class PermitQueue: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        let limit: Int
        let keepsOneForIdleKeys: Bool
        var running = 0
        var waiting = 0
        var held: [String: Int] = [:]
        var queues: [String: Deque<Waiter>] = [:]
        /// When each key last got a permit (a counter, not a clock). Keys are API-key
        /// owners, so this stays small.
        var lastServed: [String: UInt64] = [:]
        var turn: UInt64 = 0
        var nextID: UInt64 = 0

        /// Hands free permits to waiters, fairest key first; returns whom to wake.
        mutating func dispatch() -> [CheckedContinuation<Void, any Error>] {
            var granted: [CheckedContinuation<Void, any Error>] = []
            while running < limit, let key = nextKey() {
                let waiter = queues[key]!.removeFirst()
                if queues[key]!.isEmpty { queues[key] = nil }
                waiting -= 1
                running += 1
                held[key, default: 0] += 1
                turn += 1
                lastServed[key] = turn
                granted.append(waiter.continuation)
            }
            return granted
        }

        /// The waiting key that should get the next permit, if any may take it.
        func nextKey() -> String? {
            let lastFree = limit - running == 1 && limit > 1
            var best: (key: String, rank: (Int, UInt64, UInt64))?
            for (key, queue) in queues {
                guard let first = queue.first else { continue }
                let holding = held[key, default: 0]
                if keepsOneForIdleKeys, lastFree, holding > 0 { continue }
                let rank = (holding, lastServed[key, default: 0], first.id)
                if let current = best, !(rank < current.rank) { continue }
                best = (key, rank)
            }
            return best?.key
        }
    }

    private let state: Mutex<State>

    /// `limit` below 1 counts as 1.
    public init(limit: Int, keepsOneForIdleKeys: Bool = false) {
        state = Mutex(State(limit: max(1, limit), keepsOneForIdleKeys: keepsOneForIdleKeys))
    }

    /// Permits held now.
    public var running: Int { state.withLock { $0.running } }
    /// Callers waiting for a permit now.
    public var waiting: Int { state.withLock { $0.waiting } }

    /// Runs `body` holding a permit of `key`.
    public func withPermit<T: Sendable>(key: String = "", _ body: () async throws -> T) async throws -> T {
        try await acquire(key: key)
        defer { release(key: key) }
        return try await body()
    }

    /// Waits for a permit of `key`; every successful call needs one ``release(key:)``.
    public func acquire(key: String = "") async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let granted = state.withLock { state -> [CheckedContinuation<Void, any Error>]? in
                    if Task.isCancelled { return nil }
                    state.queues[key, default: []].append(Waiter(id: id, continuation: continuation))
                    state.waiting += 1
                    return state.dispatch()
                }
                guard let granted else { return continuation.resume(throwing: CancellationError()) }
                for waiter in granted { waiter.resume() }
            }
        } onCancel: {
            let (cancelled, granted) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, [CheckedContinuation<Void, any Error>]) in
                guard let index = state.queues[key]?.firstIndex(where: { $0.id == id }) else { return (nil, []) }
                let waiter = state.queues[key]!.remove(at: index)
                if state.queues[key]!.isEmpty { state.queues[key] = nil }
                state.waiting -= 1
                // The cancelled waiter may have been what kept a permit back (the last free one).
                return (waiter.continuation, state.dispatch())
            }
            cancelled?.resume(throwing: CancellationError())
            for waiter in granted { waiter.resume() }
        }
    }

    /// Gives a permit of `key` back; the next waiter, if any, gets it at once.
    public func release(key: String = "") {
        let granted = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.running -= 1
            let count = state.held[key, default: 1] - 1
            state.held[key] = count > 0 ? count : nil
            return state.dispatch()
        }
        for waiter in granted { waiter.resume() }
    }
}
