import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// The office sandbox blames itself, not the document, when bubblewrap cannot start.
@Suite(.tags(.tesseract)) struct OfficeSandboxTests {
    static let bwrapMessage = "bwrap: setting up uid map: Permission denied"

    /// A directory with a stand-in `bwrap` that fails as bubblewrap does where user
    /// namespaces are off: a `bwrap:` line on stderr, exit status 1.
    static func failingBwrap() throws -> (directory: URL, bwrap: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("bwrap")
        try Data("#!/bin/sh\necho '\(bwrapMessage)' >&2\nexit 1\n".utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return (directory, script.path)
    }

    static var expectedReason: String { "the office sandbox (bubblewrap) could not start: \(bwrapMessage)" }

    @Test func probeNamesTheSandboxWhenBwrapCannotStart() throws {
        let (directory, bwrap) = try Self.failingBwrap()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sandbox = OfficeSandbox(directory: directory.appendingPathComponent("probe"), bwrap: bwrap)
        #expect(sandbox.probe() == Self.expectedReason)
    }

    @Test(.enabled(if: OfficeSandbox.missingPrograms == nil, "needs soffice, bwrap and prlimit"))
    func conversionFailsWithTheSandboxReasonNotTheDocument() throws {
        let (directory, bwrap) = try Self.failingBwrap()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("input.docx")
        try Data("PK\u{03}\u{04}word/document.xml".utf8).write(to: source)
        let sandbox = OfficeSandbox(directory: directory.appendingPathComponent("office"), bwrap: bwrap)
        #expect(throws: OCRFailure.unavailable(Self.expectedReason)) {
            try sandbox.convertToPDF(
                source: source.path, fileExtension: "docx", deadline: .now + .seconds(60), cancel: CancelFlag())
        }
    }

    /// The real bubblewrap of this machine starts (the probe a server runs at start-up).
    @Test(.enabled(if: OfficeSandbox.missingPrograms == nil, "needs soffice, bwrap and prlimit"))
    func probeSucceedsWithTheInstalledSandbox() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-probe-\(UUID().uuidString)")
        #expect(OfficeSandbox(directory: directory).probe() == nil)
    }
}
