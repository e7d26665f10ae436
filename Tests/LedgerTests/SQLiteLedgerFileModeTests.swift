import Foundation
import Testing

@testable import Ledger

/// The SQLite ledger keeps every job's result message (result URLs, possibly presigned):
/// on a shared volume no other user may read it, whatever the process's umask.
@Suite("SQLite ledger file modes")
struct SQLiteLedgerFileModeTests {
    private static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test("a new ledger's database, WAL and shared-memory files are 0600, its new directory 0700")
    func newLedgerIsPrivate() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-mode-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("data/ledger.db").path
        let ledger = try await SQLiteJobLedger(location: .file(path))
        _ = try await ledger.accept(jobID: "j1", fingerprint: "f", at: Date())
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(try Self.mode(file) == 0o600, "\(file)")
        }
        #expect(try Self.mode(root.appendingPathComponent("data").path) == 0o700)
        await ledger.close()
    }

    @Test("a ledger file left readable by others is narrowed to 0600 when opened; its existing directory is left as it is")
    func existingFileIsNarrowed() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-mode-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o2775])
        let path = root.appendingPathComponent("ledger.db").path
        let first = try await SQLiteJobLedger(location: .file(path))
        _ = try await first.accept(jobID: "j1", fingerprint: "f", at: Date())
        await first.close()
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)

        let reopened = try await SQLiteJobLedger(location: .file(path))
        #expect(try Self.mode(path) == 0o600)
        #expect(try await reopened.record(jobID: "j1") != nil, "the data is kept")
        #expect(try Self.mode(root.path) & 0o7777 == 0o2775, "a volume's root is not the ledger's to change")
        await reopened.close()
    }
}
