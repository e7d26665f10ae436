import Crypto
import Foundation
import Synchronization

/// The configured API keys, compared in constant time.
///
/// Keys are hashed once at start; a presented key is hashed and compared with every
/// configured digest without early exit, so neither the position of a mismatch nor which
/// key matched shows in the timing.
struct APIKeyRing: Sendable {
    private let digests: [[UInt8]]
    private let ownerIDs: [String]

    init(keys: [String]) {
        digests = keys.filter { !$0.isEmpty }.map { Array(SHA256.hash(data: Data($0.utf8))) }
        ownerIDs = digests.map { $0.map { String(format: "%02x", $0) }.joined() }
    }

    /// What task records name as the owner of key `index` (see ``match(_:)``): the key's
    /// hex SHA-256, the same whatever the order of the configured keys, so a restart with
    /// keys added, removed or reordered keeps every task with the key that created it.
    func ownerID(of index: Int) -> String { ownerIDs.indices.contains(index) ? ownerIDs[index] : "" }

    /// The index of the matching key, or `nil`.
    func match(_ presented: String?) -> Int? {
        let candidate = Array(SHA256.hash(data: Data((presented ?? "").utf8)))
        var found = -1
        for (index, digest) in digests.enumerated() {
            var difference: UInt8 = 0
            for (a, b) in zip(digest, candidate) { difference |= a ^ b }
            // Branch-free select of the first match.
            let isMatch = difference == 0 && found < 0
            found = isMatch ? index : found
        }
        return presented == nil || found < 0 ? nil : found
    }

    /// A short, non-reversible label of a key for logs (never the key).
    static func fingerprint(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
    }
}

/// Requests per second per key: a token bucket of `rate` tokens refilled continuously,
/// burst `max(1, rate)`.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let rate: Double
    private let buckets = Mutex<[Int: Bucket]>([:])

    init(rate: Double) { self.rate = rate }

    /// Takes a token for `key`; returns the seconds to wait when there is none.
    func acquire(key: Int) -> Double? {
        let now = ContinuousClock.now
        let burst = max(1, rate)
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                return nil
            }
            buckets[key] = bucket
            return (1 - bucket.tokens) / rate
        }
    }
}

/// Result links: `/results/{name}?expires={unix}&signature={hmac}` where the signature is
/// HMAC-SHA256 over the path and the expiry, base64url without padding.
struct ResultSigner: Sendable {
    static let pathPrefix = "/results/"
    private let key: SymmetricKey

    init(secret: [UInt8]) { key = SymmetricKey(data: secret) }

    private func message(name: String, expires: Int64) -> Data {
        Data("GET\n\(Self.pathPrefix)\(name)\n\(expires)".utf8)
    }

    func signature(name: String, expires: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: message(name: name, expires: expires), using: key)
        return Data(mac).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Path and query of a signed link.
    func link(name: String, expires: Int64) -> String {
        "\(Self.pathPrefix)\(name)?expires=\(expires)&signature=\(signature(name: name, expires: expires))"
    }

    enum Verdict: Equatable {
        case valid
        case expired
        case forged
    }

    func verify(name: String, expires: String?, signature: String?, now: Date = Date()) -> Verdict {
        guard let expires, let expiry = Int64(expires), let signature, var raw = Optional(signature) else {
            return .forged
        }
        raw = raw.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while raw.count % 4 != 0 { raw += "=" }
        guard let mac = Data(base64Encoded: raw),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message(name: name, expires: expiry), using: key)
        else {
            return .forged
        }
        return Int64(now.timeIntervalSince1970) > expiry ? .expired : .valid
    }
}
