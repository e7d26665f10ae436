import Foundation
import JobContract
import OCRTaskAPI

/// The fuzz entry for provider replies: arbitrary bytes as the body of a task query and of
/// a create reply, through the lenient decoding, the outcome table and the result timings.
///
/// Checks: nothing traps; a decoded task record re-encodes and decodes to itself; its
/// timestamps are within ``UnixTimestamp/validSeconds``, its progress within 0...100;
/// every decoded state and status has an action; timings built from the reply encode.
public enum ProviderReplyFuzz {
    public static func run(_ data: [UInt8]) {
        let body = Data(data)
        let decoder = JSONDecoder()
        if let reply = try? decoder.decode(APIReply<TaskRecord>.self, from: body) {
            for endpoint in TaskEndpoint.allCases {
                _ = OutcomePolicy.action(status: reply.status, endpoint: endpoint, retryAfter: nil)
            }
            if let record = reply.data { check(record) }
        }
        if let record = try? decoder.decode(TaskRecord.self, from: body) { check(record) }
        if let created = try? decoder.decode(APIReply<CreatedTask>.self, from: body) {
            _ = OutcomePolicy.action(status: created.status, endpoint: .create, retryAfter: nil)
        }
        let text = String(decoding: data.prefix(128), as: UTF8.self)
        if let delay = RetryAfter.parse(text, now: Date(timeIntervalSince1970: 1_750_000_000)) {
            precondition(delay >= .zero && delay <= RetryAfter.maximum, "Retry-After out of bounds")
        }
        _ = RedactedURL(text).description
    }

    static func check(_ record: TaskRecord) {
        for timestamp in [record.createdAt, record.processedAt, record.completedAt] {
            if let timestamp { precondition(UnixTimestamp.validSeconds.contains(timestamp.seconds)) }
        }
        if let progress = record.progress { precondition((0...100).contains(progress)) }
        _ = OutcomePolicy.action(for: record.state)
        _ = OutcomePolicy.action(for: .task(record.state))
        guard let encoded = try? JSONEncoder().encode(record),
            let again = try? JSONDecoder().decode(TaskRecord.self, from: encoded)
        else { fatalError("a task record does not re-encode") }
        precondition(again == record, "a task record does not round-trip")
        let timings = JobResult.Timings(
            enqueuedAt: nil, taskCreatedAt: record.createdAt?.date, taskProcessedAt: record.processedAt?.date,
            taskCompletedAt: record.completedAt?.date, publishedAt: record.completedAt?.date ?? Date())
        let result = JobResult(
            jobID: "j", status: .failed, taskID: record.taskID, format: nil, metadata: nil, result: nil,
            error: .init(errorClass: .providerFailed, code: String(record.state.rawValue), message: record.stateDetail ?? ""),
            timings: timings, attempts: .init(creates: 1, polls: record.progress ?? 0),
            worker: .init(id: "fuzz", version: "0"), traceparent: nil)
        guard let decoded = try? JobResult.decode(result.encodedJSON()), decoded == result else {
            fatalError("a result from a provider reply does not round-trip")
        }
    }
}
