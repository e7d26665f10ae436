import Foundation
import Testing

@testable import OCRServer

/// The result-link key kept in the data directory: created once 0600, the same bytes at
/// every later start, narrowed when others may read it, refused when it is too short.
@Suite struct SigningKeyFileTests {
    @Test func keyIsCreatedPrivateAndReadBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("signing-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("signing-key").path
        let first = try SigningKeyFile.loadOrCreate(at: path)
        #expect(first.count == 32)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try SigningKeyFile.loadOrCreate(at: path) == first)

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        var narrowed = false
        #expect(try SigningKeyFile.loadOrCreate(at: path) { _ in narrowed = true } == first)
        #expect(narrowed)
        let fixed = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(fixed == 0o600)

        try Data("short".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SigningKeyFile.Problem.self) { try SigningKeyFile.loadOrCreate(at: path) }
    }
}
