import Crypto
import HexEncoding

/// The `ocr.replay` header's value: an HMAC-SHA256, under the replay key that the
/// workers and `ocr-worker dlq replay` share (`OCR_REPLAY_KEY`), of the job id and the
/// record's value.
///
/// A replayed record reopens a job that failed for good (its ledger row is `failed` and
/// published), which nothing else may do: without the signature anyone who can produce
/// to the jobs topic could reopen any failed job, with another document under its id.
/// The signature binds the reopening to the exact bytes an operator replayed.
///
/// Input: `ocr.replay.v1`, NUL, the job id's UTF-8, NUL, the value. The job id comes from
/// the value too, but a separate field keeps a future value format from changing what
/// is signed.
public enum ReplaySignature {
    public static let header = "ocr.replay"
    /// Shortest replay key accepted, in bytes.
    public static let minimumKeyBytes = 16

    public static func sign(jobID: String, value: [UInt8], key: [UInt8]) -> String {
        Hex.lowercase(HMAC<SHA256>.authenticationCode(for: message(jobID: jobID, value: value), using: SymmetricKey(data: key)))
    }

    /// Whether `signature` (the header's text) is the signature of `jobID` and `value`
    /// under `key`; compared in constant time.
    public static func isValid(_ signature: String, jobID: String, value: [UInt8], key: [UInt8]) -> Bool {
        guard let mac = Hex.bytes(signature), mac.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message(jobID: jobID, value: value), using: SymmetricKey(data: key))
    }

    private static func message(jobID: String, value: [UInt8]) -> [UInt8] {
        Array("ocr.replay.v1".utf8) + [0] + Array(jobID.utf8) + [0] + value
    }
}
