import Foundation
import Ledger
import Testing

@Suite struct LedgerCorruptRowTests {
    static let sqlite3 = "/usr/bin/sqlite3"

    @Test(
        "a row with text in an integer column is reported corrupt, not a trap",
        .enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3)))
    func corruptRow() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-corrupt-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.db").path
        let ledger = try await makeLedger(url: "sqlite://\(path)")
        _ = try await ledger.accept(jobID: "j", fingerprint: "f", at: Date())
        await ledger.close()

        for update in [
            "UPDATE jobs SET create_attempts = 'many'", "UPDATE jobs SET create_attempts = 0, first_seen_at = x'FF'",
            "UPDATE jobs SET first_seen_at = 0, fingerprint = x'FFFE'",
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.sqlite3)
            process.arguments = [path, update]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let reopened = try await makeLedger(url: "sqlite://\(path)")
            await expectLedgerError(.corrupt) { _ = try await reopened.record(jobID: "j") }
            await reopened.close()
        }
    }
}
