import Foundation
import JobContract

/// The `error` of a stored failed result, read back to dead-letter it again.
struct StoredFailure {
    var errorClass: ErrorClass
    var code: String
    var message: String

    init?(_ bytes: [UInt8]) {
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
    var seconds: TimeInterval {
        let (s, atto) = components
        return TimeInterval(s) + TimeInterval(atto) / 1e18
    }
}
