import Foundation
import JobContract
import OCRTaskAPI
import Testing

@Suite struct JobResultTests {
    static let metadataText = #"{ "tenant" : "acme", "n": 1.50, "z": [1, {"b":2,"a":1}], "s": "\u00e9\/" }"#

    static func job() throws -> Job {
        try JobDecoder().decode(
            Array(
                #"{"job_id":"acme:42","source":{"url":"https://e.com/a.pdf"},"format":"docx","password":"hunter2","metadata":\#(metadataText)}"#
                    .utf8))
    }

    static let worker = JobResult.WorkerInfo(id: "worker-a", version: "1.2.3")
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000.123_456)

    static func success() throws -> JobResult {
        let file = JobResult.ResultFile(
            fileURL: "https://provider.example/r/1.docx?sig=abc", fileURLExpiresAt: t0.addingTimeInterval(3600),
            location: "file:///var/lib/ocr/results/acme%3A42.docx", sizeBytes: 12345,
            sha256: String(repeating: "ab", count: 32), contentType: OutputFormat.docx.contentType)
        return .succeeded(
            job: try job(), taskID: "task-1", file: file,
            timings: .init(
                enqueuedAt: t0, taskCreatedAt: t0.addingTimeInterval(1), taskProcessedAt: t0.addingTimeInterval(2),
                taskCompletedAt: t0.addingTimeInterval(9), publishedAt: t0.addingTimeInterval(10)),
            attempts: .init(creates: 1, polls: 7), worker: worker,
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    }

    static func failure() throws -> JobResult {
        .failed(
            job: try job(), taskID: "task-2",
            failure: .init(errorClass: .providerRejected, code: "-7", message: "the provider says the file is invalid"),
            timings: .init(enqueuedAt: nil, taskCreatedAt: t0, publishedAt: t0.addingTimeInterval(5)),
            attempts: .init(creates: 1, polls: 3), worker: worker)
    }

    static func rejected() throws -> JobResult {
        let rejection = try #require(
            JobDecoder().result(Array(#"{"job_id":"bad-1","source":{"url":"https://e.com/"},"format":"doc"}"#.utf8))
                .failureValue)
        return try #require(JobResult.rejected(rejection, timings: .init(publishedAt: t0), worker: worker))
    }

    @Test func metadataIsEmbeddedVerbatim() throws {
        let text = String(decoding: try Self.success().encodedJSON(), as: UTF8.self)
        #expect(text.contains(#""metadata":"# + Self.metadataText + ","))
        #expect(!text.contains("hunter2"))
    }

    @Test func encodingIsDeterministicAndSorted() throws {
        let a = try Self.success().encodedJSON()
        let b = try Self.success().encodedJSON()
        #expect(a == b)
        let text = String(decoding: a, as: UTF8.self)
        #expect(text.hasPrefix(#"{"attempts":{"creates":1,"polls":7},"format":"docx","job_id":"acme:42","metadata":"#))
        #expect(text.contains(#""published_at":"2025-06-15T15:06:50.123Z""#))
        #expect(text.contains(#""file_url":"https://provider.example/r/1.docx?sig=abc""#))
    }

    @Test func roundTripKeepsBytes() throws {
        for result in [try Self.success(), try Self.failure(), try Self.rejected()] {
            let bytes = result.encodedJSON()
            let decoded = try JobResult.decode(bytes)
            #expect(decoded == result)
            #expect(decoded.encodedJSON() == bytes)
        }
    }

    @Test func codableAgreesWithTheWireForm() throws {
        let result = try Self.success()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let viaCodable = try encoder.encode(result)
        let decoded = try JSONDecoder().decode(JobResult.self, from: viaCodable)
        #expect(decoded.jobID == result.jobID)
        #expect(decoded.result == result.result)
        #expect(decoded.timings == result.timings)
        #expect(decoded.metadata?.value.canonicalBytes == result.metadata?.value.canonicalBytes)
        let a = try JSONParser.parse(Array(viaCodable))
        let b = try JSONParser.parse(result.encodedJSON())
        #expect(a.canonicalBytes == b.canonicalBytes)
    }

    @Test func encodedResultsValidateAgainstTheSchema() throws {
        let results = [
            ("success.json", try Self.success()), ("failure.json", try Self.failure()),
            ("rejected.json", try Self.rejected()),
        ]
        var passthrough = try Self.success()
        passthrough.result?.location = nil
        passthrough.result?.sizeBytes = nil
        passthrough.result?.sha256 = nil
        let files = try (results + [("passthrough.json", passthrough)]).map {
            try SchemaChecker.temporaryFile($0.0, $0.1.encodedJSON())
        }
        let outcome = try SchemaChecker.check(schema: "result.schema.json", files: files)
        #expect(outcome.failedFiles.isEmpty, "\(outcome.output)")
        #expect(outcome.status == 0)
    }

    @Test func schemaRejectsInconsistentResults() throws {
        var both = try Self.success()
        both.error = .init(errorClass: .internal, code: "x", message: "y")
        var neither = try Self.failure()
        neither.error = nil
        var badHash = try Self.success()
        badHash.result?.sha256 = "XYZ"
        var files = try [("both.json", both), ("neither.json", neither), ("badhash.json", badHash)].map {
            try SchemaChecker.temporaryFile($0.0, $0.1.encodedJSON())
        }
        let unknownClass = String(decoding: try Self.failure().encodedJSON(), as: UTF8.self)
            .replacingOccurrences(of: "provider_rejected", with: "provider_sulking")
        files.append(try SchemaChecker.temporaryFile("class.json", Array(unknownClass.utf8)))
        let outcome = try SchemaChecker.check(schema: "result.schema.json", files: files)
        #expect(outcome.failedFiles == Set(files.map(\.lastPathComponent)), "\(outcome.output)")
        #expect(throws: ContractDecodingError.self) { _ = try JobResult.decode(both.encodedJSON()) }
        #expect(throws: ContractDecodingError.self) { _ = try JobResult.decode(Array(unknownClass.utf8)) }
    }

    @Test func rejectedWithoutJobIDHasNoResult() throws {
        let rejection = JobRejection(code: .malformedJSON, message: "x")
        #expect(JobResult.rejected(rejection, timings: .init(publishedAt: Self.t0), worker: Self.worker) == nil)
    }

    @Test func invalidTraceparentIsDropped() throws {
        var result = try Self.failure()
        result = JobResult(
            jobID: result.jobID, status: result.status, taskID: result.taskID, format: result.format,
            metadata: result.metadata, result: nil, error: result.error, timings: result.timings,
            attempts: result.attempts, worker: result.worker, traceparent: "not-a-trace")
        #expect(result.traceparent == nil)
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
