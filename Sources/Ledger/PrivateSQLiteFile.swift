import Foundation

/// A SQLite database that only its own user can read: the ledger holds every job's result
/// message (result URLs, which may be presigned) and must not be readable by another user
/// of a shared volume. SQLite gives its `-wal` and `-shm` files the database file's mode,
/// so the file is created 0600 before SQLite opens it; files left by an older version are
/// narrowed to 0600. A missing parent directory is created 0700; an existing one (a
/// volume's root, owned by root with the pod's fsGroup) is left as it is.
enum PrivateSQLiteFile {
    static func prepare(_ path: String) throws {
        let manager = FileManager.default
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        if !manager.fileExists(atPath: directory.path) {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if !manager.fileExists(atPath: path), !manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        for file in [path, path + "-wal", path + "-shm"] where manager.fileExists(atPath: file) {
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
    }
}
