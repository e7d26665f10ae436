/// At most `limit` bodies run at once, shared fairly among keys (task owners): a free
/// permit goes to the waiting key that holds the fewest permits now, and among those to
/// the one served longest ago (a key never served first); a key's own waiters go in
/// arrival order. So one key's backlog never runs ahead of another key's first task: a
/// task of a key with nothing running gets the next free permit, however many tasks
/// another key queued before it.
///
/// With `keepsOneForIdleKeys`, a key that already holds a permit never takes the last free
/// one: it stays for a key that holds none. Used where one key's work may hold a permit for
/// long (downloads from a slow source): that key alone runs at most `limit - 1` at once,
/// and another key's next task starts at once instead of waiting for a slow one to end.
///
/// Waiting is cancellable (the drain cancels tasks waiting here).
actor FairLimit {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let limit: Int
    private let keepsOneForIdleKeys: Bool
    /// Bodies running now.
    private(set) var running = 0
    /// Callers waiting for a permit now.
    var waiting: Int { queues.values.reduce(0) { $0 + $1.count } }
    private var held: [String: Int] = [:]
    private var queues: [String: [Waiter]] = [:]
    /// When each key last got a permit (a counter, not a clock). Keys are task owners (one
    /// per configured API key), so this stays small.
    private var lastServed: [String: UInt64] = [:]
    private var turn: UInt64 = 0
    private var nextID: UInt64 = 0

    init(_ limit: Int, keepsOneForIdleKeys: Bool = false) {
        self.limit = max(1, limit)
        self.keepsOneForIdleKeys = keepsOneForIdleKeys
    }

    func withPermit<T: Sendable>(key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: String) async throws {
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                queues[key, default: []].append(Waiter(id: id, continuation: continuation))
                dispatch()
            }
        } onCancel: {
            Task { await self.cancelWaiter(id, key: key) }
        }
    }

    private func release(_ key: String) {
        running -= 1
        let count = held[key, default: 1] - 1
        held[key] = count > 0 ? count : nil
        dispatch()
    }

    /// Hands free permits to waiters, fairest key first.
    private func dispatch() {
        while running < limit, let key = nextKey() {
            var queue = queues[key] ?? []
            let waiter = queue.removeFirst()
            queues[key] = queue.isEmpty ? nil : queue
            running += 1
            held[key, default: 0] += 1
            turn += 1
            lastServed[key] = turn
            waiter.continuation.resume()
        }
    }

    /// The waiting key that should get the next permit, if any may take it.
    private func nextKey() -> String? {
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

    private func cancelWaiter(_ id: UInt64, key: String) {
        guard var queue = queues[key], let index = queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = queue.remove(at: index)
        queues[key] = queue.isEmpty ? nil : queue
        waiter.continuation.resume(throwing: CancellationError())
        // A cancelled waiter may have been what kept a permit back (the last free one).
        dispatch()
    }
}
