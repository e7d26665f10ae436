import Foundation
import OCRTaskAPI
import Testing

@Suite struct WireFormatTests {
    let decoder = JSONDecoder()

    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try decoder.decode(type, from: Data(json.utf8))
    }

    func encodeSorted<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func decodesDocumentedQueryReply() throws {
        let json = """
            {"status":200,"message":"success","data":{"task_id":"abc-123","state":1,"progress":100,
             "file":"https://r.example.com/x.pdf?sig=s3cr3t","created_at":"1700000000",
             "processed_at":"1700000002","completed_at":"1700000009","state_detail":"Complete",
             "image_size":{"w":10},"new_field":[1,2]}, "request_id":"r1"}
            """
        let reply = try decode(APIReply<TaskRecord>.self, json)
        #expect(reply.status == 200)
        let record = try #require(reply.data)
        #expect(record.taskID == "abc-123")
        #expect(record.state == .success)
        #expect(record.progress == 100)
        #expect(record.file == "https://r.example.com/x.pdf?sig=s3cr3t")
        #expect(record.createdAt == UnixTimestamp(seconds: 1_700_000_000))
        #expect(record.completedAt?.date == Date(timeIntervalSince1970: 1_700_000_009))
        #expect(record.stateDetail == "Complete")
    }

    @Test func toleratesNumbersMissingOptionalsAndUnknownStates() throws {
        let record = try decode(
            TaskRecord.self,
            #"{"task_id":"t","state":"-42","progress":"37.5","created_at":1700000000,"processed_at":null,"completed_at":"","state_detail":5}"#
        )
        #expect(record.state == TaskState(-42))
        #expect(record.progress == 37)
        #expect(record.createdAt?.seconds == 1_700_000_000)
        #expect(record.processedAt == nil)
        #expect(record.completedAt == nil)
        #expect(record.file == nil)
        #expect(record.stateDetail == "5")
        let minimal = try decode(TaskRecord.self, #"{"task_id":"t","state":77}"#)
        #expect(minimal.state.rawValue == 77 && minimal.progress == nil)
        #expect(try decode(TaskRecord.self, #"{"task_id":"t","state":4,"progress":250}"#).progress == 100)
    }

    @Test func rejectsRecordsWithoutIdentityOrState() {
        #expect(throws: DecodingError.self) { try decode(TaskRecord.self, #"{"state":1}"#) }
        #expect(throws: DecodingError.self) { try decode(TaskRecord.self, #"{"task_id":"t"}"#) }
        #expect(throws: DecodingError.self) { try decode(TaskRecord.self, #"{"task_id":"t","state":"x"}"#) }
        #expect(throws: DecodingError.self) { try decode(CreatedTask.self, #"{"task_id":""}"#) }
    }

    @Test func encodesExactWireShape() throws {
        let record = TaskRecord(
            taskID: "t1", state: .success, progress: 100, file: "https://h/f.txt",
            createdAt: UnixTimestamp(seconds: 1), processedAt: UnixTimestamp(seconds: 2),
            completedAt: UnixTimestamp(seconds: 3), stateDetail: "done")
        #expect(
            try encodeSorted(APIReply.success(record))
                == #"{"data":{"completed_at":"3","created_at":"1","file":"https://h/f.txt","processed_at":"2","progress":100,"state":1,"state_detail":"done","task_id":"t1"},"message":"success","status":200}"#
        )
        #expect(try encodeSorted(TaskRecord(taskID: "t2", state: .queued)) == #"{"state":0,"task_id":"t2"}"#)
        #expect(
            try encodeSorted(APIReply.success(CreatedTask(taskID: "t3")))
                == #"{"data":{"task_id":"t3"},"message":"success","status":200}"#)
        #expect(
            try encodeSorted(APIReply<CreatedTask>.failure(status: 401, message: "bad key"))
                == #"{"message":"bad key","status":401}"#)
        let roundTrip = try decode(TaskRecord.self, try encodeSorted(record))
        #expect(roundTrip == record)
    }

    @Test func errorEnvelopesNeverFailOnTheirData() throws {
        for data in ["null", "{}", #""oops""#, "[]", #"{"task_id":5}"#] {
            let reply = try decode(APIReply<TaskRecord>.self, #"{"status":401,"message":"Unauthorized","data":\#(data)}"#)
            #expect(reply.status == 401 && reply.message == "Unauthorized")
        }
        let bare = try decode(APIReply<CreatedTask>.self, #"{"status":"429"}"#)
        #expect(bare.status == 429 && bare.message == nil && bare.data == nil)
        // A success must carry valid data.
        #expect(throws: DecodingError.self) {
            try decode(APIReply<CreatedTask>.self, #"{"status":200,"data":{"id":"x"}}"#)
        }
    }

    @Test func constants() {
        #expect(TaskAPI.createPath == "/api/tasks/document/ocr")
        #expect(TaskAPI.queryPath(taskID: "abc-1") == "/api/tasks/document/ocr/abc-1")
        #expect(TaskAPI.queryPath(taskID: "../x?y") == "/api/tasks/document/ocr/..%2Fx%3Fy")
        #expect(TaskAPI.apiKeyHeader == "X-API-KEY")
        #expect(
            [
                TaskAPI.Field.imageURL, TaskAPI.Field.imageFile, TaskAPI.Field.file, TaskAPI.Field.language,
                TaskAPI.Field.password, TaskAPI.Field.format,
            ]
                == ["image_url", "image_file", "file", "language", "password", "format"])
        #expect(OutputFormat.default == .txt)
        #expect(OutputFormat.allCases.map(\.rawValue) == ["txt", "pdf", "docx", "xlsx", "pptx"])
        #expect(OutputFormat(parsing: " PDF ") == .pdf && OutputFormat(parsing: "doc") == nil)
    }

    @Test func timestampsAndRetryAfter() throws {
        #expect(UnixTimestamp(wire: "1700000000")?.seconds == 1_700_000_000)
        #expect(UnixTimestamp(wire: "1700000000.9")?.seconds == 1_700_000_000)
        #expect(UnixTimestamp(wire: "soon") == nil)
        let now = Date(timeIntervalSince1970: 784_111_777) // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryAfter.parse("2") == .seconds(2))
        #expect(RetryAfter.parse(" 0.5 ") == .milliseconds(500))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:39 GMT", now: now) == .seconds(2))
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:47 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sun Nov  6 08:49:40 1994", now: now) == .seconds(3))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("-1") == nil && RetryAfter.parse("later") == nil && RetryAfter.parse("") == nil)
        #expect(RetryAfter.headerValue(for: .milliseconds(1500)) == "2")
    }
}
