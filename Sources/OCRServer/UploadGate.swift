import Synchronization

/// Uploads being received at once, per API key: one counter per key index, so admission
/// is O(1) and one key's slow or parallel uploads cannot occupy the server's connections
/// and disk for every other key.
final class UploadGate: Sendable {
    private struct Counts {
        var byKey: [Int: Int] = [:]
        var total = 0
    }

    /// Uploads one key may have in progress at once.
    let limitPerKey: Int
    private let counts = Mutex(Counts())

    init(limitPerKey: Int) { self.limitPerKey = max(1, limitPerKey) }

    /// Counts an upload of `key` in, unless the key is at its limit; every `true` needs a
    /// ``leave(_:)``.
    func tryEnter(_ key: Int) -> Bool {
        counts.withLock { counts in
            let current = counts.byKey[key, default: 0]
            guard current < limitPerKey else { return false }
            counts.byKey[key] = current + 1
            counts.total += 1
            return true
        }
    }

    func leave(_ key: Int) {
        counts.withLock { counts in
            let remaining = counts.byKey[key, default: 0] - 1
            counts.byKey[key] = remaining > 0 ? remaining : nil
            counts.total -= 1
        }
    }

    /// Uploads in progress, all keys together (for `/stats`).
    var total: Int { counts.withLock { $0.total } }
}
