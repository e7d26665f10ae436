import Foundation

/// One entry of a stored ``DurationModel`` (``DurationModel/snapshot()``), as JSON: either
/// one key's fit (its format and size bucket, the provider being the store's scope) or the
/// provider's progress trust. Read back from a database, so everything in it is checked
/// before use (``DurationModel/restore(_:)``).
struct StoredDurations: Codable, Sendable, Hashable {
    var format: String?
    var sizeBucket: Int?
    var fit: DurationFit.Statistics?
    var progress: ProgressTrust.Statistics?

    /// The name of the progress trust's entry (fits are named by their key).
    static let progressName = "progress"
    /// Entries longer than this are not read (a fit is well under 2 KB).
    static let maximumBytes = 64 * 1024

    func encoded() -> String? {
        guard let data = try? JSONEncoder().encode(self) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func decoded(_ text: String) -> StoredDurations? {
        guard text.utf8.count <= maximumBytes else { return nil }
        return try? JSONDecoder().decode(StoredDurations.self, from: Data(text.utf8))
    }

    /// The key a stored fit is for, under `provider`; nil when its format or bucket could
    /// not be one (a format is a short word; buckets are 0...16).
    func key(provider: String) -> DurationKey? {
        guard let format, !format.isEmpty, format.count <= 32,
            format.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" })
        else { return nil }
        if let sizeBucket, !(0...16).contains(sizeBucket) { return nil }
        return DurationKey(provider: provider, format: format, sizeBucket: sizeBucket)
    }
}
