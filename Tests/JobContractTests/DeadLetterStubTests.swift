import Foundation
import JobContract
import Testing

@Suite struct DeadLetterStubTests {
    static let info = DeadLetterInfo(
        errorClass: .invalidJob, code: "record_too_large", message: "the record value is 3000000 bytes",
        createAttempts: 0, pollAttempts: 0, firstSeenAt: Date(timeIntervalSince1970: 1_750_000_000),
        failedAt: Date(timeIntervalSince1970: 1_750_000_001), taskID: nil, workerID: "w", consumerGroup: "g",
        origin: .init(topic: "ocr.jobs", partition: 3, offset: 99, timestamp: .max, timestampType: .createTime))

    @Test("a stub keeps key, headers and the reason, and drops the value")
    func keepsWhatFits() throws {
        let headers: [(name: String, value: [UInt8]?)] = [("traceparent", Array("00-a".utf8)), ("empty", nil)]
        let stub = DeadLetterStub.make(
            key: Array("acme:1".utf8), valueBytes: 3_000_000, headers: headers, info: Self.info,
            reason: "Broker: Message size too large")
        #expect(stub.key == Array("acme:1".utf8))
        #expect(stub.value.isEmpty)
        #expect(stub.keepsOriginalHeaders)
        let all = headers + stub.headers.pairs
        #expect(DeadLetterStub.isStub(all))
        let info = try DeadLetterHeaders.parse(all)
        #expect(info == Self.info)
        let display = DeadLetterHeaders.displayValues(all)
        #expect(display["ocr.error.code"] == "record_too_large")
        func header(_ name: String) -> String? {
            stub.headers.last { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
        }
        #expect(header(DeadLetterStub.stubReason) == "Broker: Message size too large")
        #expect(header(DeadLetterStub.originalValueBytes) == "3000000")
        #expect(header(DeadLetterStub.originalKeyBytes) == "6")
        #expect(header(DeadLetterStub.keyDropped) == nil)
        #expect(header(DeadLetterStub.headersDropped) == nil)
    }

    @Test("a huge key and huge original headers are dropped, and the stub says so")
    func dropsWhatIsHuge() {
        let headers: [(name: String, value: [UInt8]?)] = [("big", [UInt8](repeating: 1, count: 70_000))]
        let stub = DeadLetterStub.make(
            key: [UInt8](repeating: 0xFF, count: 5000), valueBytes: 0, headers: headers, info: Self.info, reason: "x")
        #expect(stub.key == nil)
        #expect(!stub.keepsOriginalHeaders)
        #expect(stub.headers.contains { $0.name == DeadLetterStub.keyDropped && $0.value == Array("true".utf8) })
        #expect(stub.headers.contains { $0.name == DeadLetterStub.headersDropped && $0.value == Array("true".utf8) })
        #expect(DeadLetterStub.isStub(stub.headers.pairs))
        #expect(!DeadLetterStub.isStub(DeadLetterHeaders.make(Self.info).pairs))
    }
}
