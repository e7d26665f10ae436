import Foundation
import OCRTaskAPI
import Testing

@Suite struct RequestValidationTests {
    func error(_ body: () throws -> Void) -> TaskRequestError? {
        do { try body() } catch let error as TaskRequestError { return error } catch { Issue.record("\(error)") }
        return nil
    }

    @Test func languages() throws {
        #expect(try LanguageList(commaSeparated: "English, Digits").names == ["English", "Digits"])
        #expect(try LanguageList(["ChinesePRC", "C/C++"]).commaSeparated == "ChinesePRC,C/C++")
        #expect(LanguageList.default.commaSeparated == "ChinesePRC,English,Digits")
        let eleven = (1...11).map { "L\($0)" }
        #expect(throws: Never.self) { try LanguageList(Array(eleven.prefix(10))) }
        #expect(error { _ = try LanguageList(eleven) }?.code == .tooManyLanguages)
        #expect(error { _ = try LanguageList([]) }?.code == .noLanguage)
        #expect(error { _ = try LanguageList(commaSeparated: " ") }?.code == .noLanguage)
        #expect(error { _ = try LanguageList(commaSeparated: "English,,Digits") }?.code == .invalidLanguage)
        #expect(error { _ = try LanguageList(["Eng lish"]) }?.code == .invalidLanguage)
        #expect(error { _ = try LanguageList(["English;rm"]) }?.code == .invalidLanguage)
        #expect(error { _ = try LanguageList([String(repeating: "a", count: 65)]) }?.code == .invalidLanguage)
        #expect(error { _ = try LanguageList(["English", "English"]) }?.code == .duplicateLanguage)
        // Case-sensitive: different names, both allowed through to the provider.
        #expect(try LanguageList(["English", "english"]).names.count == 2)
        #expect(error { _ = try LanguageList(["x"]) } == nil)
        #expect(error { _ = try LanguageList(eleven) }?.field == "language")
    }

    @Test func languagesDecodeFromArrayOrString() throws {
        let fromArray = try JSONDecoder().decode(LanguageList.self, from: Data(#"["English","Digits"]"#.utf8))
        let fromString = try JSONDecoder().decode(LanguageList.self, from: Data(#""English,Digits""#.utf8))
        #expect(fromArray == fromString)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(LanguageList.self, from: Data(#"[]"#.utf8))
        }
    }

    @Test func optionsAndPasswords() throws {
        let options = try TaskOptions(language: "English", password: "hunter2", format: "PDF")
        #expect(options.format == .pdf && options.password == "hunter2")
        #expect(options.formFields.map(\.name) == ["language", "password", "format"])
        #expect(!options.description.contains("hunter2"))
        let defaults = try TaskOptions(language: nil, password: "", format: nil)
        #expect(defaults.languages == .default && defaults.password == nil && defaults.format == .txt)
        #expect(defaults.formFields.map(\.name) == ["language", "format"])
        #expect(throws: Never.self) { try TaskOptions(password: String(repeating: "p", count: 32)) }
        let secret = "TopSecretPassword-0123456789-ABCDEF"
        let tooLong = error { _ = try TaskOptions(password: secret) }
        #expect(tooLong?.code == .passwordTooLong && tooLong?.field == "password")
        #expect(!(tooLong?.description.contains(secret) ?? true))
        #expect(!(tooLong?.description.contains("TopSecret") ?? true))
        #expect(error { _ = try TaskOptions(password: "a\nb") }?.code == .invalidPassword)
        let badFormat = error { _ = try TaskOptions(language: nil, password: nil, format: "doc") }
        #expect(badFormat?.code == .invalidFormat && badFormat?.field == "format")
    }

    @Test func documentURLs() throws {
        let url = try DocumentURL("https://user:pw@docs.example.com/a/b.pdf?X-Amz-Signature=abc#frag")
        #expect(url.port == 443 && url.host == "docs.example.com")
        #expect(url.description == "https://docs.example.com/a/b.pdf?<redacted>")
        #expect(url.imageURLViolation() == nil)
        #expect(error { _ = try DocumentURL("ftp://example.com/a") }?.code == .unsupportedScheme)
        #expect(error { _ = try DocumentURL("file:///etc/passwd") }?.code == .unsupportedScheme)
        #expect(error { _ = try DocumentURL("example.com/a") }?.code == .unsupportedScheme)
        #expect(error { _ = try DocumentURL("http:///nohost") }?.code == .invalidURL)
        #expect(error { _ = try DocumentURL("http://exa mple.com/") }?.code == .invalidURL)
        #expect(try DocumentURL("http://example.com:8080/a").imageURLViolation()?.code == .unsupportedPort)
        #expect(try DocumentURL("http://example.com:443/a").imageURLViolation() == nil)
        #expect(try DocumentURL("http://127.0.0.1/a").imageURLViolation()?.code == .forbiddenHost)
        #expect(try DocumentURL("http://10.1.2.3/a").imageURLViolation(allowingNonPublicHosts: true) == nil)
    }

    @Test func redaction() {
        #expect(RedactedURL.string("https://u:p@h.example/p/a.txt?sig=1&k=2") == "https://h.example/p/a.txt?<redacted>")
        #expect(RedactedURL.string("http://h:8080/x") == "http://h:8080/x")
        #expect(RedactedURL.string("not a url ?token=1") == "not a url ?<redacted>")
        #expect(!RedactedURL.string("weird://a b@c d/?key=v").contains("key"))
    }

    @Test func sourceFields() throws {
        #expect(try SourceFields.resolve(imageURL: nil, fileFieldNames: ["file"]) == .file(fieldName: "file"))
        #expect(
            try SourceFields.resolve(imageURL: "", fileFieldNames: ["image_file", "other"])
                == .file(fieldName: "image_file"))
        if case .url(let url) = try SourceFields.resolve(imageURL: "https://e.com/a.png", fileFieldNames: []) {
            #expect(url.host == "e.com")
        } else {
            Issue.record("expected a URL source")
        }
        #expect(error { _ = try SourceFields.resolve(imageURL: nil, fileFieldNames: []) }?.code == .missingSource)
        #expect(
            error { _ = try SourceFields.resolve(imageURL: "https://e.com/a", fileFieldNames: ["file"]) }?.code
                == .conflictingSources)
        #expect(
            error { _ = try SourceFields.resolve(imageURL: nil, fileFieldNames: ["file", "image_file"]) }?.code
                == .conflictingSources)
    }
}
