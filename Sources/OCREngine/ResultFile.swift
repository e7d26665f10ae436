import Foundation

/// Writes a result file beside its final name and renames it over that name.
///
/// With replicas sharing a results directory, a replica that was frozen past its lease can
/// wake and finish a task another replica has taken over and already finished, writing the
/// same name again. Removing the file first and writing it in place would leave readers
/// (a download, the other replica's size check) a missing or half-written file for a
/// while, and a write that fails halfway would destroy a good result. `rename(2)` within
/// one directory replaces the name atomically: readers see the old file or the new one.
/// The temporary name starts with the final one, so the server's sweep (which keys result
/// files by the task id before the first dot) removes one left by a crash.
enum ResultFile {
    static func replace(_ output: URL, write: (URL) throws -> Void) throws {
        let partial = output.deletingLastPathComponent()
            .appendingPathComponent("\(output.lastPathComponent).\(UUID().uuidString).partial")
        do {
            try write(partial)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        guard rename(partial.path, output.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: partial)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(code))])
        }
    }
}
