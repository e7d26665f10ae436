import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The result-link signing key kept in the data directory when none is configured: 32
/// random bytes, created once with mode 0600 (never through a symbolic link), so links
/// made before a restart verify after it. A key file other users may read is narrowed to
/// 0600; one that is not a regular file, or holds fewer than 32 or more than 4096 bytes,
/// stops the start. The key's bytes never reach a log or an error.
///
/// Replicas starting together on one shared directory race to create it: the key is
/// written and synced under a temporary name and then linked to its name (`link` fails
/// when the name exists), so the file appears whole or not at all and every replica reads
/// the one key that won.
enum SigningKeyFile {
    static let minimumBytes = 32
    static let maximumBytes = 4096

    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The key at `path`, created when missing. `narrowed` is told when a looser mode was
    /// fixed.
    static func loadOrCreate(at path: String, narrowed: (String) -> Void = { _ in }) throws(Problem) -> [UInt8] {
        for _ in 0..<2 {
            if let key = try load(at: path, narrowed: narrowed) { return key }
            if try create(at: path) { continue }
        }
        guard let key = try load(at: path, narrowed: narrowed) else { throw Problem(description: "could not create \(path)") }
        return key
    }

    /// The key, or nil when there is no file.
    private static func load(at path: String, narrowed: (String) -> Void) throws(Problem) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw Problem(description: "cannot open the signing key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw Problem(description: "the signing key file \(path) is not a regular file")
        }
        if status.st_mode & 0o077 != 0 {
            guard fchmod(descriptor, 0o600) == 0 else {
                throw Problem(description: "the signing key file \(path) is readable by others and could not be narrowed to 0600")
            }
            narrowed(path)
        }
        var key = [UInt8](repeating: 0, count: maximumBytes + 1)
        var count = 0
        while count < key.count {
            let read = key.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if read < 0 && errno == EINTR { continue }
            guard read >= 0 else { throw Problem(description: "cannot read the signing key file \(path)") }
            if read == 0 { break }
            count += read
        }
        guard (minimumBytes...maximumBytes).contains(count) else {
            throw Problem(
                description: "the signing key file \(path) holds \(count) bytes; between \(minimumBytes) and \(maximumBytes) are accepted")
        }
        return Array(key.prefix(count))
    }

    /// Writes a new random key; false when another process created the file first.
    private static func create(at path: String) throws(Problem) -> Bool {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if descriptor < 0 {
            throw Problem(description: "cannot create the signing key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        var generator = SystemRandomNumberGenerator()
        let key = (0..<minimumBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let written = key.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == key.count, synced else {
            throw Problem(description: "cannot write the signing key file \(path)")
        }
        if link(temporary, path) != 0 {
            if errno == EEXIST { return false }
            throw Problem(description: "cannot create the signing key file \(path): \(String(cString: strerror(errno)))")
        }
        return true
    }
}
