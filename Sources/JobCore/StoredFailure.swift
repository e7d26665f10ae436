public import Foundation
public import JobContract

/// The `error` of a stored failed result, read back to dead-letter it again.
public struct StoredFailure: Sendable {
    public var errorClass: ErrorClass
    public var code: String
    public var message: String

    public init?(_ bytes: [UInt8]) {
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let error = root["error"] as? [String: Any],
            let errorClass = (error["class"] as? String).flatMap(ErrorClass.init(rawValue:))
        else { return nil }
        self.errorClass = errorClass
        code = error["code"] as? String ?? ""
        message = error["message"] as? String ?? ""
    }
}

extension Duration {
    /// The duration in seconds, for `Date` arithmetic and logs.
    public var timeInterval: TimeInterval {
        let (s, atto) = components
        return TimeInterval(s) + TimeInterval(atto) / 1e18
    }
}

extension Date {
    /// The date when it can be written as an RFC 3339 instant (years 1 to 9999), else nil.
    /// Record timestamps and provider dates are outside data: a record stamped at the far
    /// end of Int64 milliseconds must give a result without a time, not a trap.
    public var asRFC3339Instant: Date? {
        let seconds = timeIntervalSince1970
        return seconds.isFinite && seconds >= -62_135_596_800 && seconds < 253_402_300_800 ? self : nil
    }
}
