import Foundation
import JobContract
import Testing

@Suite struct DeadLetterHeadersTests {
    static let info = DeadLetterInfo(
        errorClass: .providerFailed, code: "-8", message: "task timed out 3 times", createAttempts: 3,
        pollAttempts: 41, firstSeenAt: Date(timeIntervalSince1970: 1_750_000_000.5),
        failedAt: Date(timeIntervalSince1970: 1_750_000_300.25), taskID: "task-9", workerID: "worker-a",
        consumerGroup: "ocr-workers",
        origin: .init(
            topic: "ocr.jobs", partition: 7, offset: 5_000_000_000, timestamp: 1_749_999_999_123,
            timestampType: .createTime))

    @Test func springBinaryEncodings() throws {
        let headers = DeadLetterHeaders.make(Self.info)
        func value(_ name: String) -> [UInt8]? { headers.last { $0.name == name }?.value }
        #expect(value("kafka_dlt-original-partition") == [0, 0, 0, 7])
        #expect(value("kafka_dlt-original-offset") == [0, 0, 0, 1, 0x2A, 0x05, 0xF2, 0x00])
        #expect(value("kafka_dlt-original-timestamp")?.count == 8)
        #expect(value("kafka_dlt-original-timestamp-type") == Array("CreateTime".utf8))
        #expect(value("kafka_dlt-exception-fqcn") == Array("ocr_worker.provider_failed".utf8))
        #expect(value("__connect.errors.partition") == Array("7".utf8))
        #expect(value("__connect.errors.offset") == Array("5000000000".utf8))
        #expect(value("__connect.errors.connector.name") == Array("worker-a".utf8))
        #expect(value("ocr.failed_at") == Array("2025-06-15T15:11:40.250Z".utf8))
        #expect(Set(headers.map(\.name)) == DeadLetterHeaders.allNames)
    }

    @Test func parsesBack() throws {
        let headers = DeadLetterHeaders.make(Self.info)
        #expect(try DeadLetterHeaders.parse(headers.pairs) == Self.info)
        // Original headers before ours, and an earlier dead-lettering: the last one wins.
        var older = Self.info
        older.code = "-1"
        let stacked =
            [("traceparent", Array("00-x".utf8) as [UInt8]?)] + DeadLetterHeaders.make(older).pairs
            + headers.pairs
        #expect(try DeadLetterHeaders.parse(stacked).code == "-8")
    }

    @Test func optionalPartsAndRejections() throws {
        let rejection = JobRejection(code: .malformedJSON, message: "the value is not valid JSON")
        let info = DeadLetterInfo(
            rejection: rejection, firstSeenAt: Date(timeIntervalSince1970: 1), failedAt: Date(timeIntervalSince1970: 1),
            workerID: "w", consumerGroup: nil,
            origin: .init(topic: "ocr.jobs", partition: 0, offset: 0, timestamp: nil, timestampType: .createTime))
        let headers = DeadLetterHeaders.make(info)
        #expect(!headers.contains { $0.name == "ocr.task_id" || $0.name == "kafka_dlt-original-timestamp" })
        let parsed = try DeadLetterHeaders.parse(headers.pairs)
        #expect(parsed == info)
        #expect(parsed.origin.timestampType == .none)
        #expect(parsed.errorClass == .invalidJob)
    }

    @Test func foreignRecordsFallBackToSpringThenConnect() throws {
        var headers = DeadLetterHeaders.make(Self.info).filter { !$0.name.hasPrefix("ocr.original.") }
        #expect(try DeadLetterHeaders.parse(headers.pairs).origin == Self.info.origin)
        headers.removeAll { $0.name.hasPrefix("kafka_dlt-original-") }
        let parsed = try DeadLetterHeaders.parse(headers.pairs)
        #expect(parsed.origin.offset == 5_000_000_000)
        #expect(parsed.origin.timestamp == nil)
        #expect(throws: ContractDecodingError.self) {
            _ = try DeadLetterHeaders.parse(headers.pairs.filter { $0.name != "ocr.error.class" })
        }
    }

    @Test func longMessagesAreTruncatedOnACharacterBoundary() {
        var info = Self.info
        info = DeadLetterInfo(
            errorClass: info.errorClass, code: info.code, message: String(repeating: "é", count: 2000),
            createAttempts: 0, pollAttempts: 0, firstSeenAt: info.firstSeenAt, failedAt: info.failedAt,
            taskID: nil, workerID: "w", consumerGroup: nil, origin: info.origin)
        #expect(info.message.utf8.count <= DeadLetterHeaders.maxMessageBytes)
        #expect(info.message.hasSuffix("..."))
    }

    @Test func headersValidateAgainstTheSchema() throws {
        let rejection = JobRejection(code: .invalidURL, message: "source.url is not an absolute http or https URL")
        let minimal = DeadLetterInfo(
            rejection: rejection, firstSeenAt: Date(), failedAt: Date(), workerID: "w", consumerGroup: nil,
            origin: .init(topic: "t", partition: 2_147_483_647, offset: Int64.max, timestamp: nil, timestampType: .createTime))
        let files = try [("full.json", Self.info), ("minimal.json", minimal)].map {
            try SchemaChecker.temporaryFile($0.0, DeadLetterHeaders.displayJSON(DeadLetterHeaders.make($0.1).pairs))
        }
        let display = DeadLetterHeaders.displayValues(DeadLetterHeaders.make(Self.info).pairs)
        #expect(display["kafka_dlt-original-partition"] == "7")
        #expect(display["kafka_dlt-original-offset"] == "5000000000")
        #expect(display["kafka_dlt-original-timestamp"] == "1749999999123")
        var broken = display
        broken["ocr.error.class"] = "bad_luck"
        broken["ocr.original.offset"] = "12x"
        let bad = try SchemaChecker.temporaryFile(
            "broken.json", JSONValue.object(broken.mapValues(JSONValue.string)).canonicalBytes)
        let outcome = try SchemaChecker.check(schema: "dead-letter-headers.schema.json", files: files + [bad])
        #expect(outcome.failedFiles == ["broken.json"], "\(outcome.output)")
    }

    @Test func errorClassNames() {
        for errorClass in ErrorClass.allCases {
            #expect(ErrorClass(exceptionClassName: errorClass.exceptionClassName) == errorClass)
        }
        #expect(ErrorClass.providerRejected.rawValue == "provider_rejected")
    }
}

@Suite struct SchemaVocabularyTests {
    func schema(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: SchemaChecker.schema(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func errorClassesMatchTheSchemas() throws {
        let result = try schema("result.schema.json")
        let props = try #require(result["properties"] as? [String: Any])
        let error = try #require(props["error"] as? [String: Any])
        let errorProps = try #require(error["properties"] as? [String: Any])
        let classes = try #require((errorProps["class"] as? [String: Any])?["enum"] as? [String])
        #expect(Set(classes) == Set(ErrorClass.allCases.map(\.rawValue)))
        let dlq = try schema("dead-letter-headers.schema.json")
        let defs = try #require(dlq["$defs"] as? [String: Any])
        let dlqClasses = try #require((defs["errorClass"] as? [String: Any])?["enum"] as? [String])
        #expect(Set(dlqClasses) == Set(ErrorClass.allCases.map(\.rawValue)))
        let dlqProps = try #require(dlq["properties"] as? [String: Any])
        #expect(Set(dlqProps.keys) == DeadLetterHeaders.allNames)
    }
}
