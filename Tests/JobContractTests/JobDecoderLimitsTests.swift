import JobContract
import Testing

@Suite struct JobDecoderLimitsTests {
    @Test("a value over the cap is rejected unread, without a job id (dead letter only)")
    func valueCap() throws {
        let decoder = JobDecoder(maxValueBytes: 100)
        let small = Array(#"{"job_id":"a","source":{"url":"https://e.com/"}}"#.utf8)
        #expect(throws: Never.self) { try decoder.decode(small) }
        // Valid JSON with a job id, just too big: the decoder must not read it.
        let big = Array(#"{"job_id":"a","source":{"url":"https://e.com/"},"metadata":{"x":"\#(String(repeating: "y", count: 100))"}}"#.utf8)
        let rejection = decoder.result(big).failureValue
        #expect(rejection?.code == .recordTooLarge)
        #expect(rejection?.jobID == nil)
        #expect(rejection?.message == "the record value is \(big.count) bytes, at most 100 allowed")
        // Not even JSON: still record_too_large, so it is never parsed.
        #expect(decoder.result([UInt8](repeating: 0x5B, count: 101)).failureValue?.code == .recordTooLarge)
        #expect(JobDecoder().maxValueBytes == 1024 * 1024)
    }

    @Test("keys and headers are bounded too")
    func envelope() {
        let decoder = JobDecoder(maxKeyBytes: 8, maxHeaderCount: 2, maxHeaderBytes: 20)
        #expect(throws: Never.self) { try decoder.checkEnvelope(keyBytes: 8, headerCount: 2, headerBytes: 20) }
        func code(_ key: Int, _ count: Int, _ bytes: Int) -> (JobRejection.Code?, String?) {
            do {
                try decoder.checkEnvelope(keyBytes: key, headerCount: count, headerBytes: bytes)
                return (nil, nil)
            } catch {
                return (error.code, error.field)
            }
        }
        #expect(code(9, 0, 0) == (.recordTooLarge, "key"))
        #expect(code(0, 3, 0) == (.recordTooLarge, "headers"))
        #expect(code(0, 1, 21) == (.recordTooLarge, "headers"))
        let headers: [(name: String, value: [UInt8]?)] = [("ab", [1, 2, 3]), ("c", nil)]
        #expect(JobDecoder.headerBytes(headers) == 6)
    }
}
