import Foundation
import FuzzEntries
import Testing

/// Replays the committed fuzz corpus (Tests/FuzzCorpus/<target>/) through the same entry
/// functions libFuzzer drives in scripts/fuzz, so an input that once crashed stays fixed.
/// A crash here is a trap in the process: the entries check their invariants with
/// `precondition`.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func inputs(_ target: String) throws -> [URL] {
        let directory = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("job records: decoder, results, dead-letter headers, password removal, stubs")
    func jobRecords() throws {
        let files = try Self.inputs("FuzzJobRecord")
        #expect(files.count >= 10)
        for file in files { KafkaRecordFuzz.run(Array(try Data(contentsOf: file))) }
    }

    @Test("provider replies: lenient decoding, outcome table, timings")
    func providerReplies() throws {
        let files = try Self.inputs("FuzzProviderReply")
        #expect(files.count >= 10)
        for file in files { ProviderReplyFuzz.run(Array(try Data(contentsOf: file))) }
    }
}
