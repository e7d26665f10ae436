import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The server's directories: uploads, results, task records and the signing key are other
/// people's documents and our secrets, so only the server's user may enter them.
///
/// A directory the server owns is made 0700. The data and shared directories may instead
/// be the root of a volume the server does not own: Kubernetes mounts a volume's root
/// owned by root with the pod's `fsGroup` as its group and mode 2775 (group-writable,
/// setgid), and nobody but root may chmod it. Such a root is used as found when the
/// server's user can write it and other users cannot (its group may: that is the pod's
/// `fsGroup`); everything the server keeps in it is its own and private (directories 0700,
/// files 0600), so the root shows other users only the names `tasks`, `results`,
/// `tasks.sqlite` and `signing-key`. A root every user may write is refused: anyone could
/// replace what the server keeps there.
enum PrivateDirectory {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// How a directory was found.
    enum Outcome: Equatable {
        /// The server's own, 0700 now.
        case `private`
        /// Another owner's (a volume root), used as found.
        case foreign(owner: UInt32, group: UInt32, mode: UInt32)
    }

    /// Creates `url` (and missing parents) 0700, or makes an existing directory of the
    /// server's 0700; with `acceptingForeign`, uses another owner's directory as the type's
    /// comment says.
    static func prepare(_ url: URL, acceptingForeign: Bool) throws(Problem) -> Outcome {
        let path = url.path
        do {
            try FileManager.default.createDirectory(
                at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Problem(description: "cannot create the directory \(path): \(Self.reason(of: error))")
        }
        var status = stat()
        guard stat(path, &status) == 0 else { throw Problem(description: "cannot read \(path): \(Self.errnoText())") }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw Problem(description: "\(path) is not a directory") }
        let user = geteuid()
        if status.st_uid == user {
            // Also clears a setgid bit inherited from a volume root: what is in here stays
            // in the server's own group rather than the volume's.
            guard chmod(path, 0o700) == 0 else {
                throw Problem(description: "cannot make \(path) private (0700): \(Self.errnoText())")
            }
            return .private
        }
        let mode = UInt32(status.st_mode & 0o7777)
        let found = "owned by uid \(status.st_uid), group \(status.st_gid), mode \(String(mode, radix: 8))"
        guard acceptingForeign else {
            throw Problem(
                description: "cannot make \(path) private (0700): it is \(found), and the server runs as uid \(user); "
                    + "remove it or give it to uid \(user)")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw Problem(
                description: "\(path) is \(found) and uid \(user) cannot write it: give the server's group write access "
                    + "(Kubernetes: securityContext.fsGroup), or use a directory of its own")
        }
        guard status.st_mode & S_IWOTH == 0 else {
            throw Problem(description: "\(path) is \(found): every user may write it; use a directory of the server's own")
        }
        return .foreign(owner: status.st_uid, group: status.st_gid, mode: mode)
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func reason(of error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}
