import Foundation
import TestSupport
import Testing

@testable import OCREngine

/// A result is replaced by renaming a finished file over it: a write that fails leaves the
/// result that was there, and no temporary file stays behind either way.
@Suite(.tags(.tesseract)) struct ResultFileTests {
    struct WriteFailed: Error {}

    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("result-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aFailedWriteKeepsTheResultThatWasThere() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let output = root.appendingPathComponent("task.txt")
        try Data("the good result".utf8).write(to: output)
        #expect(throws: WriteFailed.self) {
            try ResultFile.replace(output) { partial in
                try Data("half a res".utf8).write(to: partial)
                throw WriteFailed()
            }
        }
        #expect(try String(contentsOf: output, encoding: .utf8) == "the good result")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["task.txt"])
    }

    @Test func aFinishedWriteReplacesTheResultInOneStep() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let output = root.appendingPathComponent("task.txt")
        try Data("an older result".utf8).write(to: output)
        // A reader that opened the old result keeps reading it whole.
        let reader = try FileHandle(forReadingFrom: output)
        defer { try? reader.close() }
        try ResultFile.replace(output) { partial in
            // Until the rename the final name still holds the old result.
            #expect(try String(contentsOf: output, encoding: .utf8) == "an older result")
            try Data("the new result".utf8).write(to: partial)
        }
        #expect(try String(contentsOf: output, encoding: .utf8) == "the new result")
        #expect(String(decoding: try reader.readToEnd() ?? Data(), as: UTF8.self) == "an older result")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["task.txt"])
    }
}
