import Foundation
import JobContract
import Testing

/// The same example messages through `JobDecoder` and `check-jsonschema`: same verdict.
@Suite struct JobSchemaAgreementTests {
    let decoder = JobDecoder()

    func bytes(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

    @Test func validExamplesPassBoth() throws {
        let files = try SchemaChecker.files(in: "valid")
        #expect(files.count >= 10)
        for file in files {
            #expect(throws: Never.self, "\(file.lastPathComponent)") { _ = try decoder.decode(bytes(file)) }
        }
        let outcome = try SchemaChecker.check(schema: "job.schema.json", files: files)
        #expect(outcome.failedFiles.isEmpty, "\(outcome.output)")
        #expect(outcome.status == 0)
    }

    @Test func invalidExamplesFailBothWithTheCodeInTheirName() throws {
        let files = try SchemaChecker.files(in: "invalid")
        #expect(files.count >= 30)
        for file in files {
            let name = file.deletingPathExtension().lastPathComponent
            let expected = String(name.split(separator: "-", maxSplits: 1)[0])
            switch decoder.result(try bytes(file)) {
            case .success: Issue.record("\(name) was accepted by JobDecoder")
            case .failure(let rejection): #expect(rejection.code.rawValue == expected, "\(name): \(rejection)")
            }
        }
        let outcome = try SchemaChecker.check(schema: "job.schema.json", files: files)
        let accepted = Set(files.map(\.lastPathComponent)).subtracting(outcome.failedFiles)
        #expect(accepted.isEmpty, "accepted by the schema: \(accepted.sorted())")
    }

    @Test func malformedJSONFailsBoth() throws {
        let files = try SchemaChecker.files(in: "malformed")
        for file in files {
            #expect(throws: JobRejection.self) { _ = try decoder.decode(bytes(file)) }
            #expect(decoder.result(try bytes(file)).rejectionCode == "malformed_json", "\(file.lastPathComponent)")
            let outcome = try SchemaChecker.check(schema: "job.schema.json", files: [file])
            #expect(outcome.status != 0, "\(file.lastPathComponent) passed check-jsonschema")
        }
    }

    /// What JSON Schema cannot say: the decoder rejects, the schema (necessarily) accepts.
    /// The schema's description documents both rules.
    @Test func decoderOnlyRulesAreTheDocumentedOnes() throws {
        let duplicate = try SchemaChecker.files(in: "decoder-only")
        var cases: [(URL, String)] = duplicate.map {
            ($0, String($0.deletingPathExtension().lastPathComponent.split(separator: "-")[0]))
        }
        let padding = String(repeating: "x", count: 16 * 1024)
        let big = #"{"job_id":"big","source":{"url":"https://example.com/a.pdf"},"metadata":{"p":""# + padding + #""}}"#
        cases.append((try SchemaChecker.temporaryFile("metadata_too_large.json", Array(big.utf8)), "metadata_too_large"))
        for (file, code) in cases {
            #expect(decoder.result(try bytes(file)).rejectionCode == code, "\(file.lastPathComponent)")
        }
        let outcome = try SchemaChecker.check(schema: "job.schema.json", files: cases.map(\.0))
        #expect(outcome.failedFiles.isEmpty, "\(outcome.output)")
    }

    @Test func metadataAtTheLimitIsAccepted() throws {
        let prefix = #"{"p":""#
        let suffix = #""}"#
        let padding = String(repeating: "y", count: JobDecoder.defaultMaxMetadataBytes - prefix.count - suffix.count)
        let message = #"{"job_id":"edge","source":{"url":"https://example.com/"},"metadata":"# + prefix + padding + suffix + "}"
        let job = try decoder.decode(Array(message.utf8))
        #expect(job.metadata?.bytes.count == JobDecoder.defaultMaxMetadataBytes)
    }
}

extension Result where Failure == JobRejection {
    var rejectionCode: String? {
        if case .failure(let rejection) = self { return rejection.code.rawValue }
        return nil
    }
}
