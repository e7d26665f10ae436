import JobContract
import Testing

@Suite("Replay signature")
struct ReplaySignatureTests {
    let key = Array("0123456789abcdef0123".utf8)
    let value = Array(#"{"job_id":"j-1","source":{"url":"https://docs.test/a.pdf"}}"#.utf8)

    @Test("a signature verifies for its job id, value and key only")
    func bindsEverything() {
        let signature = ReplaySignature.sign(jobID: "j-1", value: value, key: key)
        #expect(signature.count == 64)
        #expect(ReplaySignature.isValid(signature, jobID: "j-1", value: value, key: key))
        #expect(ReplaySignature.isValid(signature.uppercased(), jobID: "j-1", value: value, key: key))
        #expect(!ReplaySignature.isValid(signature, jobID: "j-2", value: value, key: key))
        #expect(!ReplaySignature.isValid(signature, jobID: "j-1", value: value + [0x20], key: key))
        #expect(!ReplaySignature.isValid(signature, jobID: "j-1", value: value, key: key + [0x20]))
    }

    @Test("what is not a signature never verifies")
    func garbage() {
        for text in ["", "true", "zz", String(repeating: "0", count: 64), String(repeating: "a", count: 63)] {
            #expect(!ReplaySignature.isValid(text, jobID: "j-1", value: value, key: key), "\(text)")
        }
    }
}
