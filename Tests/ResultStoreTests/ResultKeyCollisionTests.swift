import ResultStore
import Testing

@Suite struct ResultKeyCollisionTests {
    /// The job id whose plain encoding is `name` (`_XX` back to the byte), if there is one.
    static func decoded(_ name: String) -> String? {
        var bytes: [UInt8] = []
        var utf8 = Array(name.utf8)[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "_") {
                guard utf8.count >= 3, let value = UInt8(String(decoding: utf8.dropFirst().prefix(2), as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    @Test("the hashed key of a long job id can never be the plain key of a short one")
    func hashedKeysCannotCollideWithPlainOnes() throws {
        for long in [
            String(repeating: ":", count: 128), String(repeating: "@", count: 100) + "abc",
            String(repeating: "/", count: 86) + String(repeating: "x", count: 42),
        ] {
            let hashed = ResultKey.forJob(long, fileExtension: "docx")
            #expect(hashed.utf8.count <= ResultKey.maxSegmentBytes)
            let stem = String(hashed.dropLast(".docx".count))
            // If the stem decodes to a job id, that id must not map to the same key.
            if let short = Self.decoded(stem), short != long {
                #expect(ResultKey.forJob(short, fileExtension: "docx") != hashed, "\(short) collides with \(long)")
            }
        }
    }

    @Test("hashed keys carry a marker no plain encoding produces")
    func hashedKeysAreMarked() {
        let hashed = ResultKey.forJob(String(repeating: ":", count: 128), fileExtension: "pdf")
        #expect(Self.decoded(String(hashed.dropLast(".pdf".count))) == nil)
    }
}
