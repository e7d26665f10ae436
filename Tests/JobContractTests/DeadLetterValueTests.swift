import JobContract
import Testing

@Suite struct DeadLetterValueTests {
    func stripped(_ text: String) -> String? {
        DeadLetterValue.withoutPassword(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("the password member goes, every other byte stays")
    func removesOnlyThePassword() {
        #expect(stripped(#"{"job_id":"a","password":"hunter2","format":"pdf"}"#) == #"{"job_id":"a","format":"pdf"}"#)
        #expect(stripped(#"{ "password" : "x" , "job_id" : "a" }"#) == #"{ "job_id" : "a" }"#)
        #expect(stripped(#"{"job_id":"a",  "password":"x"  }"#) == #"{"job_id":"a"  }"#)
        #expect(stripped(#"{"password":"x"}"#) == "{}")
        #expect(stripped(" {\n \"password\": null\n} ") == " {\n \n} ")
        // Escaped names count; nested passwords are the producer's data and stay.
        #expect(stripped(#"{"pass\u0077ord":"x","metadata":{"password":"keep"},"n":1.50}"#) == #"{"metadata":{"password":"keep"},"n":1.50}"#)
        // Repeated members (the decoder rejects them) all go.
        #expect(stripped(#"{"password":"a","job_id":"j","password":"b","x":[1],"password":"c"}"#) == #"{"job_id":"j","x":[1]}"#)
        #expect(stripped(#"{"a":1,"password":"a","password":"b"}"#) == #"{"a":1}"#)
    }

    @Test("values without a top-level password, not objects or not JSON are returned unchanged")
    func unchanged() {
        for text in [
            #"{"job_id":"a","metadata":{"password":"x"}}"#, #"["password"]"#, #""password""#, "not json",
            #"{"password":"x""#, #"{"password":"x"} trailing"#, "", "\u{FF}",
        ] {
            #expect(stripped(text) == text, "\(text)")
        }
        let invalidUTF8: [UInt8] = [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]
        #expect(DeadLetterValue.withoutPassword(invalidUTF8) == invalidUTF8)
        #expect(DeadLetterValue.withoutPassword(nil) == nil)
    }

    @Test("the result of a real job still decodes, to the same job without its password")
    func decodesAfterwards() throws {
        let text = #"{"job_id":"acme:42","password":"hunter2","source":{"url":"https://e.com/a.pdf"},"metadata":{ "k" : 1.0 }}"#
        let value = try #require(DeadLetterValue.withoutPassword(Array(text.utf8)))
        #expect(!String(decoding: value, as: UTF8.self).contains("hunter2"))
        let job = try JobDecoder().decode(value)
        #expect(job.jobID == "acme:42")
        #expect(job.password == nil)
        #expect(job.metadata?.bytes == Array(#"{ "k" : 1.0 }"#.utf8))
    }
}
