import Foundation
import JobContract
import OCRTaskAPI
import Testing

@Suite struct JobDecoderTests {
    let decoder = JobDecoder()

    func decode(_ text: String) throws(JobRejection) -> Job { try decoder.decode(Array(text.utf8)) }

    func rejection(_ text: String?) -> JobRejection? {
        if case .failure(let r) = decoder.result(text.map { Array($0.utf8) }) { return r }
        return nil
    }

    @Test func decodesEveryField() throws {
        let job = try decode(
            """
            {"job_id":"acme:42","source":{"url":"https://example.com/a.pdf?sig=1"},"language":"English, Digits",
             "format":"PDF","password":"hunter2","metadata": { "b" : 1, "a" : [true, null] },
             "deadline":"2030-01-01T01:00:00+01:00"}
            """)
        #expect(job.jobID == "acme:42")
        #expect(job.source.absoluteString == "https://example.com/a.pdf?sig=1")
        #expect(job.languages.names == ["English", "Digits"])
        #expect(job.format == .pdf)
        #expect(job.password == "hunter2")
        #expect(job.metadata?.bytes == Array(#"{ "b" : 1, "a" : [true, null] }"#.utf8))
        #expect(job.deadline == RFC3339.parse("2030-01-01T00:00:00Z"))
        #expect(job.fingerprint.count == 64)
    }

    @Test func defaults() throws {
        let job = try decode(#"{"job_id":"j","source":{"url":"http://example.com/x.png"}}"#)
        #expect(job.languages == .default)
        #expect(job.format == .txt)
        #expect(job.password == nil)
        #expect(job.metadata == nil)
        #expect(job.deadline == nil)
    }

    @Test func nullValueIsRejected() {
        let r = rejection(nil)
        #expect(r?.code == .nullValue)
        #expect(r?.jobID == nil)
    }

    @Test func rejectionCarriesTheJobIDOnlyWhenValid() {
        #expect(rejection(#"{"job_id":"ok-1","source":{"url":"ftp://x/"}}"#)?.jobID == "ok-1")
        #expect(rejection(#"{"job_id":"bad id","source":{"url":"https://x/"}}"#)?.jobID == nil)
        #expect(rejection(#"{"source":{"url":"https://x/"}}"#)?.jobID == nil)
        #expect(rejection("[]")?.code == .notAnObject)
        #expect(rejection("{").map(\.code) == .malformedJSON)
    }

    @Test func messagesNeverContainThePasswordOrAURLQuery() throws {
        let secret = "Sup3rS3cretPassw0rd!Sup3rS3cretP4" // 33 characters
        let cases = [
            #"{"job_id":"j","source":{"url":"https://example.com/a b?token=QUERYSECRET"},"password":"\#(secret)"}"#,
            #"{"job_id":"j","source":{"url":"ftp://user:USERSECRET@example.com/?token=QUERYSECRET"}}"#,
            #"{"job_id":"j","source":{"url":"https://example.com/?token=QUERYSECRET"},"password":"\#(secret)"}"#,
            #"{"job_id":"j","source":{"url":"https://example.com/"},"password":"\#(secret.prefix(10))\n"}"#,
            #"{"job_id":"j","source":{"url":"https://example.com/"},"password":"\#(secret.prefix(20))","format":"bad"}"#,
            #"{"job_id":"j","source":{"url":"https://example.com/"},"password":"\#(secret.prefix(20))","deadline":"x"}"#,
        ]
        for text in cases {
            guard let r = rejection(text) else {
                Issue.record("accepted: \(text)")
                continue
            }
            for needle in [secret, String(secret.prefix(10)), "QUERYSECRET", "USERSECRET"] {
                #expect(!r.message.contains(needle), "\(r.message)")
                #expect(!r.description.contains(needle))
                #expect(!String(reflecting: r).contains(needle))
            }
        }
        #expect(rejection(cases[2])?.code == .passwordTooLong)
    }

    @Test func jobDescriptionsRedactThePassword() throws {
        let job = try decode(
            #"{"job_id":"j","source":{"url":"https://example.com/a?token=QUERYSECRET"},"password":"hunter2"}"#)
        for text in [job.description, job.debugDescription, "\(job)", String(reflecting: job)] {
            #expect(!text.contains("hunter2"), "\(text)")
            #expect(!text.contains("QUERYSECRET"), "\(text)")
        }
        #expect(job.description.contains("<redacted>"))
        var dumped = ""
        dump(job, to: &dumped)
        #expect(!dumped.contains("hunter2"), "\(dumped)")
    }

    @Test func fingerprintIgnoresSerialization() throws {
        let a = try decode(
            #"{"job_id":"j","source":{"url":"https://e.com/a"},"language":["English","Digits"],"format":"pdf","metadata":{"a":1,"b":[1.0,"x"]},"deadline":"2030-01-01T01:00:00+01:00","password":"p"}"#
        )
        let b = try decode(
            """
            {
              "password": "p",
              "deadline": "2030-01-01T00:00:00.000Z",
              "metadata": { "b": [1, "x"], "a": 1.0 },
              "format": "PDF",
              "language": "English, Digits",
              "source": { "url": "https://e.com/a", "extra": true },
              "job_id": "j",
              "unknown": 1
            }
            """)
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.metadata != b.metadata) // metadata bytes stay as sent
        let c = try decode(
            #"{"job_id":"j","source":{"url":"https://e.com/a"},"language":["Digits","English"],"format":"pdf","metadata":{"a":1,"b":[1.0,"x"]},"deadline":"2030-01-01T01:00:00+01:00","password":"p"}"#
        )
        #expect(a.fingerprint != c.fingerprint) // language order is significant
        let d = try decode(#"{"job_id":"j","source":{"url":"https://e.com/a"}}"#)
        let e = try decode(#"{"job_id":"j","source":{"url":"https://e.com/b"}}"#)
        #expect(d.fingerprint != e.fingerprint)
    }

    @Test func fingerprintIsAFixedFunctionOfTheCanonicalForm() throws {
        let job = try decode(#"{"job_id":"j","source":{"url":"https://e.com/a"},"metadata":{"z":1,"a":"\u00e9"}}"#)
        let canonical = JobDecoder.canonicalForm(
            jobID: "j", url: "https://e.com/a", options: job.options, metadata: job.metadata?.value, deadline: nil)
        #expect(
            String(decoding: canonical, as: UTF8.self)
                == #"{"deadline":null,"format":"txt","job_id":"j","language":["ChinesePRC","English","Digits"],"metadata":{"a":"é","z":1},"password_set":false,"source":{"url":"https://e.com/a"}}"#
        )
    }

    @Test func duplicateKeysAnywhereAreMalformed() {
        #expect(rejection(#"{"job_id":"j","source":{"url":"https://e.com/","url":"https://f.com/"}}"#)?.code == .malformedJSON)
        #expect(rejection(#"{"job_id":"j","source":{"url":"https://e.com/"},"metadata":{"a":1,"a":2}}"#)?.code == .malformedJSON)
    }

    @Test func deepNestingIsRefusedNotCrashing() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(rejection(#"{"job_id":"j","source":{"url":"https://e.com/"},"metadata":{"a":\#(deep)}}"#)?.code == .malformedJSON)
    }

    @Test func deadlineCheck() throws {
        let job = try decode(#"{"job_id":"j","source":{"url":"https://e.com/"},"deadline":"2020-01-01T00:00:00Z"}"#)
        #expect(job.isPastDeadline(at: Date()))
        #expect(!job.isPastDeadline(at: Date(timeIntervalSince1970: 0)))
    }
}

@Suite struct RFC3339Tests {
    @Test func parsesAndFormats() throws {
        let instant = try #require(RFC3339.parse("1985-04-12T23:20:50.52Z"))
        #expect(instant.seconds == 482_196_050)
        #expect(instant.nanoseconds == 520_000_000)
        #expect(instant.canonical == "1985-04-12T23:20:50.52Z")
        #expect(RFC3339.parse("1996-12-19T16:39:57-08:00")?.canonical == "1996-12-20T00:39:57Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_700_000_000.123_9)) == "2023-11-14T22:13:20.123Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        for bad in [
            "2030-13-01T00:00:00Z", "2030-01-01 00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T00:00:00.Z",
            "2030-01-01T00:00:00+2400", "2029-02-29T00:00:00Z", "",
        ] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }
}
