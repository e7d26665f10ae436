import Foundation
import TestSupport
import Testing

@testable import OCRServer

#if canImport(Glibc)
    import Glibc
#endif

/// ocr-server on a data directory as a kubelet mounts a volume: its root owned by root,
/// with the pod's fsGroup as group and mode 2775 (group-writable, setgid), the server
/// running as uid 10001 in that group, and the Service's link variables in its
/// environment. The tests create such directories as root (the test process runs as root).
@Suite(.tags(.e2e, .tesseract)) struct KubernetesVolumeTests {
    static let uid: uid_t = 10001
    static let fsGroup: gid_t = 10001

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-volume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o755)
        return directory
    }

    /// A directory owned by `owner`:`group` with `mode` (chmod after chown: chown clears setgid).
    static func directory(_ url: URL, owner: uid_t, group: gid_t, mode: mode_t) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        guard chown(url.path, owner, group) == 0, chmod(url.path, mode) == 0 else {
            throw TestFailure("chown/chmod \(url.path): \(String(cString: strerror(errno))) (the tests run as root)")
        }
    }

    static func status(_ url: URL) throws -> stat {
        var status = stat()
        guard stat(url.path, &status) == 0 else { throw TestFailure("stat \(url.path)") }
        return status
    }

    /// The directory logic itself: another owner's directory (here: uid 10001's, seen from
    /// root) is used as found when it is not world-writable; one every user may write is
    /// refused; a directory the server must make private but cannot is an error naming
    /// its owner; the server's own directory is narrowed to 0700, setgid cleared.
    @Test func foreignRootsAreUsedAsFoundOwnDirectoriesMadePrivate() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let volume = root.appendingPathComponent("volume")
        try Self.directory(volume, owner: Self.uid, group: Self.fsGroup, mode: 0o2775)
        #expect(try PrivateDirectory.prepare(volume, acceptingForeign: true) == .foreign(owner: 10001, group: 10001, mode: 0o2775))
        #expect(try Self.status(volume).st_mode & 0o7777 == 0o2775, "left as found")
        #expect(throws: PrivateDirectory.Problem.self) { try PrivateDirectory.prepare(volume, acceptingForeign: false) }

        let open = root.appendingPathComponent("open")
        try Self.directory(open, owner: Self.uid, group: Self.fsGroup, mode: 0o0777)
        #expect {
            try PrivateDirectory.prepare(open, acceptingForeign: true)
        } throws: { error in
            "\(error)".contains("every user may write it")
        }

        let own = root.appendingPathComponent("own")
        try Self.directory(own, owner: geteuid(), group: Self.fsGroup, mode: 0o2775)
        #expect(try PrivateDirectory.prepare(own, acceptingForeign: true) == .private)
        #expect(try Self.status(own).st_mode & 0o7777 == 0o700)
        let created = own.appendingPathComponent("a/b")
        #expect(try PrivateDirectory.prepare(created, acceptingForeign: false) == .private)
        #expect(try Self.status(created).st_mode & 0o7777 == 0o700)
    }

    /// The real executable as the kubelet starts it: uid 10001 (setpriv), its data
    /// directory the root of a "volume" owned by root:10001 with mode 2775, and the
    /// service-link variables of a Service named ocr-server in its environment. It must
    /// start, run a task, and keep what it stores private; the volume root stays as it was.
    /// A process because only a process of another user meets the EPERM a kubelet volume
    /// gives.
    @Test func theServerStartsOnAKubeletVolumeWithServiceLinks() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try Self.directory(data, owner: 0, group: Self.fsGroup, mode: 0o2775)
        let port = try LoopbackPort.reserve()
        let server = try await ServerProcess.start(
            dataDirectory: data, port: port, extraArguments: ["--workers", "1"],
            launcher: ["/usr/bin/setpriv", "--reuid", "\(Self.uid)", "--regid", "\(Self.fsGroup)", "--clear-groups"],
            environment: [
                "OCR_SERVER_PORT": "tcp://10.0.0.7:8080", "OCR_SERVER_PORT_8080_TCP": "tcp://10.0.0.7:8080",
                "OCR_SERVER_PORT_8080_TCP_PROTO": "tcp", "OCR_SERVER_PORT_8080_TCP_PORT": "8080",
                "OCR_SERVER_PORT_8080_TCP_ADDR": "10.0.0.7", "OCR_SERVER_SERVICE_HOST": "10.0.0.7",
                "OCR_SERVER_SERVICE_PORT": "8080", "OCR_SERVER_SERVICE_PORT_HTTP": "8080",
            ])
        let api = API(base: server.base)
        let id = try await api.createTask([.file("image_file", "clean.png", try Repo.sample("clean.png")), .field("format", "txt")])
        let record = try await api.waitTerminal(id, seconds: 120)
        #expect(record["state"] as? Int == 1, "\(record)")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit(seconds: 60) == 0, "\(server.logTail())")

        let volume = try Self.status(data)
        #expect(volume.st_uid == 0 && volume.st_gid == Self.fsGroup && volume.st_mode & 0o7777 == 0o2775)
        for name in ["tasks", "results"] {
            let status = try Self.status(data.appendingPathComponent(name))
            #expect(status.st_uid == Self.uid && status.st_mode & 0o7777 == 0o700, "\(name)")
        }
        for name in ["tasks.sqlite", "signing-key", "results/\(id).txt"] {
            let status = try Self.status(data.appendingPathComponent(name))
            #expect(status.st_uid == Self.uid && status.st_mode & 0o777 == 0o600, "\(name)")
        }
    }
}
