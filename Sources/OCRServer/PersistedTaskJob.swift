import Foundation
import OCRTaskAPI

/// What a task needs to run again after a restart, kept as `job.json` (mode 0600) in its
/// task directory beside the upload until the task ends, then deleted with the directory.
///
/// The password of a protected PDF is in it, as the document is beside it: both stay in
/// the data directory (0700), never in the task database, and go when the task ends. The
/// file is read back without trusting it: anything that does not decode or validate
/// means the task cannot be resumed.
struct PersistedTaskJob: Codable, Sendable, Equatable {
    static let fileName = "job.json"
    /// Largest job file read back.
    static let maximumBytes = 64 * 1024

    var languages: [String]
    var password: String?
    var format: String
    /// The `image_url` source; nil when the source is the upload in the task directory.
    var imageURL: String?
    /// `force_ocr`: recognise every page, ignoring PDF text layers. Absent in files
    /// written before the field existed, which means false.
    var forceOCR: Bool?

    enum CodingKeys: String, CodingKey {
        case languages, password, format
        case imageURL = "image_url"
        case forceOCR = "force_ocr"
    }

    func write(to directory: URL) throws {
        let data = try JSONEncoder().encode(self)
        let path = directory.appendingPathComponent(Self.fileName).path
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// The job of the task directory `directory`; nil when there is none or it is unreadable.
    static func read(from directory: URL) -> PersistedTaskJob? {
        let url = directory.appendingPathComponent(fileName)
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maximumBytes + 1), data.count <= maximumBytes,
            let job = try? JSONDecoder().decode(PersistedTaskJob.self, from: data),
            OutputFormat(rawValue: job.format) != nil
        else { return nil }
        return job
    }
}
