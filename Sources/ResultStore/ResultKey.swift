import Crypto
import Foundation
import HexEncoding
import OCRTaskAPI

/// Result keys: `/`-separated relative paths whose segments are made safe for any store.
///
/// Each segment keeps `A-Z a-z 0-9 . _ -` and percent-encodes every other byte (`%` too),
/// so the mapping is one to one; a leading `.` is encoded as well, so no segment is `.`,
/// `..` or a hidden file (the directory store's temporary files start with `.`). Empty
/// segments (a leading or doubled `/`) are refused, as are segments over 255 bytes once
/// encoded. The same encoded key is used by every store.
public enum ResultKey {
    public static let maxSegmentBytes = 255

    /// The store-safe form of `key`.
    public static func sanitize(_ key: String) throws(ResultStoreError) -> String {
        guard !key.isEmpty else { throw ResultStoreError(code: .invalidKey, message: "the key is empty") }
        var segments: [String] = []
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty else {
                throw ResultStoreError(code: .invalidKey, message: "the key has an empty path segment")
            }
            let encoded = encodeSegment(Substring(segment))
            guard encoded.utf8.count <= maxSegmentBytes else {
                throw ResultStoreError(
                    code: .invalidKey, message: "a key segment is longer than \(maxSegmentBytes) bytes once encoded")
            }
            segments.append(encoded)
        }
        return segments.joined(separator: "/")
    }

    /// A flat key for a job's result file, made only of characters ``sanitize(_:)`` keeps
    /// (so the stored name is exactly this): the job id with every byte outside
    /// `A-Z a-z 0-9 . -` written as `_XX` (`acme:42` -> `acme_3A42`), plus the extension.
    /// Job ids may contain `/` and `..`; here they cannot make directories.
    ///
    /// Ids whose encoding would pass 255 bytes keep a prefix and gain `_h` and a SHA-256 of
    /// the full id (32 hex digits). No two ids share a key: the plain encoding is one to
    /// one, and it writes `_` only as the start of `_XX` with two UPPERCASE hex digits, so
    /// `_h` never occurs in it and a hashed key can never equal the key of a short id
    /// (whatever that short id is); two hashed keys are equal only if 128 bits of SHA-256
    /// collide.
    public static func forJob(_ jobID: String, fileExtension: String) -> String {
        let ext = "." + encodeSegment(Substring(fileExtension), escape: "_", escapeUnderscore: true)
        let name = encodeSegment(Substring(jobID), escape: "_", escapeUnderscore: true)
        if name.utf8.count + ext.utf8.count <= maxSegmentBytes { return name + ext }
        let digest = Hex.lowercase(SHA256.hash(data: Array(jobID.utf8)).prefix(16))
        let marker = hashMarker + digest
        var prefix = Substring(name.prefix(maxSegmentBytes - ext.utf8.count - marker.utf8.count))
        // Never end the prefix inside an `_XX` escape.
        while prefix.last == "_" || prefix.dropLast().last == "_" { prefix = prefix.dropLast() }
        return prefix + marker + ext
    }

    /// What separates a hashed key's prefix from its digest: `_` followed by a character
    /// that is not an uppercase hex digit, which the plain encoding never writes.
    static let hashMarker = "_h"

    static func encodeSegment(_ segment: Substring, escape: Character = "%", escapeUnderscore: Bool = false) -> String {
        var out = ""
        let hex = Array("0123456789ABCDEF")
        for (index, byte) in segment.utf8.enumerated() {
            let safe: Bool =
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                    true
                case UInt8(ascii: "_"): !escapeUnderscore
                case UInt8(ascii: "."): index > 0
                default: false
                }
            if safe {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out.append(escape)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}
