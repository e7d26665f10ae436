public import Foundation
public import OCRTaskAPI

/// The message on `ocr.results` (schemas/result.schema.json): exactly one logical result
/// per job, keyed by `job_id`.
///
/// ``encodedJSON()`` is the wire form: members sorted by name, dates in UTC with
/// millisecond precision, the job's `metadata` embedded byte for byte. The same value
/// always encodes to the same bytes, so a result republished after a crash is identical.
/// The password never appears: a result holds no field for it.
public struct JobResult: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, Codable {
        case succeeded, failed
    }

    /// `result`: where the OCR output is.
    public struct ResultFile: Sendable, Hashable {
        /// The provider's result URL (`data.file`), valid about an hour.
        public var fileURL: String
        public var fileURLExpiresAt: Date
        /// Where the worker rehosted the file (`file:///...`, `s3://bucket/key`), or `nil`
        /// in pass-through mode.
        public var location: String?
        /// Size and SHA-256 (hex) of the file; `nil` in pass-through mode, where the worker
        /// never reads it.
        public var sizeBytes: Int64?
        public var sha256: String?
        public var contentType: String

        public init(
            fileURL: String, fileURLExpiresAt: Date, location: String?, sizeBytes: Int64?, sha256: String?,
            contentType: String
        ) {
            self.fileURL = fileURL
            self.fileURLExpiresAt = RFC3339.truncatedToMilliseconds(fileURLExpiresAt)
            self.location = location
            self.sizeBytes = sizeBytes
            self.sha256 = sha256
            self.contentType = contentType
        }
    }

    /// `error`: why the job failed.
    public struct Failure: Sendable, Hashable {
        public var errorClass: ErrorClass
        /// The provider state (`-7`), HTTP status (`http_413`) or rejection code
        /// (`invalid_language`).
        public var code: String
        /// Human-readable and free of secrets.
        public var message: String

        public init(errorClass: ErrorClass, code: String, message: String) {
            self.errorClass = errorClass
            self.code = code
            self.message = message
        }

        /// The failure for a message that broke the job contract.
        public init(_ rejection: JobRejection) {
            self.init(errorClass: .invalidJob, code: rejection.code.rawValue, message: rejection.message)
        }
    }

    public struct Timings: Sendable, Hashable {
        /// The job record's Kafka timestamp. Optional dates outside what RFC 3339 can write
        /// (years 0000-9999, see ``RFC3339/representable(_:)``) become `nil`.
        public var enqueuedAt: Date?
        public var taskCreatedAt: Date?
        public var taskProcessedAt: Date?
        public var taskCompletedAt: Date?
        /// When this result was built (first publication; republishing keeps it).
        public var publishedAt: Date

        public init(
            enqueuedAt: Date? = nil, taskCreatedAt: Date? = nil, taskProcessedAt: Date? = nil,
            taskCompletedAt: Date? = nil, publishedAt: Date
        ) {
            // These come from outside (the record's Kafka timestamp, the provider's
            // created_at...): one RFC 3339 cannot write is published as missing.
            self.enqueuedAt = enqueuedAt.flatMap(RFC3339.representable)
            self.taskCreatedAt = taskCreatedAt.flatMap(RFC3339.representable)
            self.taskProcessedAt = taskProcessedAt.flatMap(RFC3339.representable)
            self.taskCompletedAt = taskCompletedAt.flatMap(RFC3339.representable)
            self.publishedAt = RFC3339.truncatedToMilliseconds(publishedAt)
        }
    }

    public struct Attempts: Sendable, Hashable {
        public var creates: Int
        public var polls: Int
        public init(creates: Int, polls: Int) {
            self.creates = creates
            self.polls = polls
        }
    }

    public struct WorkerInfo: Sendable, Hashable {
        public var id: String
        public var version: String
        public init(id: String, version: String) {
            self.id = id
            self.version = version
        }
    }

    public var jobID: String
    public var status: Status
    public var taskID: String?
    /// `nil` only when the job was rejected before its format could be read.
    public var format: OutputFormat?
    public var metadata: RawJSON?
    /// Set exactly when ``status`` is `succeeded`.
    public var result: ResultFile?
    /// Set exactly when ``status`` is `failed`.
    public var error: Failure?
    public var timings: Timings
    public var attempts: Attempts
    public var worker: WorkerInfo
    /// The W3C `traceparent` of the job record, when it had a well-formed one.
    public var traceparent: String?

    /// A success.
    public static func succeeded(
        job: Job, taskID: String, file: ResultFile, timings: Timings, attempts: Attempts, worker: WorkerInfo,
        traceparent: String? = nil
    ) -> JobResult {
        JobResult(
            jobID: job.jobID, status: .succeeded, taskID: taskID, format: job.format, metadata: job.metadata,
            result: file, error: nil, timings: timings, attempts: attempts, worker: worker,
            traceparent: traceparent)
    }

    /// A failure of a valid job (`taskID` when a task was created).
    public static func failed(
        job: Job, taskID: String?, failure: Failure, timings: Timings, attempts: Attempts, worker: WorkerInfo,
        traceparent: String? = nil
    ) -> JobResult {
        JobResult(
            jobID: job.jobID, status: .failed, taskID: taskID, format: job.format, metadata: job.metadata,
            result: nil, error: failure, timings: timings, attempts: attempts, worker: worker,
            traceparent: traceparent)
    }

    /// The failure of a rejected message that still had a valid `job_id`; `nil` when it
    /// had none (dead letter only).
    public static func rejected(
        _ rejection: JobRejection, timings: Timings, worker: WorkerInfo, traceparent: String? = nil
    ) -> JobResult? {
        guard let jobID = rejection.jobID else { return nil }
        return JobResult(
            jobID: jobID, status: .failed, taskID: nil, format: nil, metadata: nil, result: nil,
            error: Failure(rejection), timings: timings, attempts: Attempts(creates: 0, polls: 0), worker: worker,
            traceparent: traceparent)
    }

    public init(
        jobID: String, status: Status, taskID: String?, format: OutputFormat?, metadata: RawJSON?,
        result: ResultFile?, error: Failure?, timings: Timings, attempts: Attempts, worker: WorkerInfo,
        traceparent: String?
    ) {
        self.jobID = jobID
        self.status = status
        self.taskID = taskID
        self.format = format
        self.metadata = metadata
        self.result = result
        self.error = error
        self.timings = timings
        self.attempts = attempts
        self.worker = worker
        self.traceparent = traceparent.flatMap { Self.isValidTraceparent($0) ? $0 : nil }
    }

    /// `version-traceid-parentid-flags`, lowercase hex (W3C Trace Context).
    public static func isValidTraceparent(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        let lengths = [2, 32, 16, 2]
        for (part, length) in zip(parts, lengths) {
            guard part.utf8.count == length, part.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            else { return false }
        }
        return true
    }

    // MARK: Wire form

    /// The message value: deterministic JSON with `metadata` embedded verbatim.
    public func encodedJSON() -> [UInt8] {
        var writer = JSONWriter()
        writer.write(node)
        return writer.bytes
    }

    var node: JSONNode {
        func date(_ d: Date?) -> JSONNode { .string(d.map(RFC3339.format)) }
        var members: [String: JSONNode] = [
            "job_id": .string(jobID),
            "status": .string(status.rawValue),
            "task_id": .string(taskID),
            "format": .string(format?.rawValue),
            "metadata": metadata.map { .raw($0.bytes) } ?? .null,
            "timings": .object([
                "enqueued_at": date(timings.enqueuedAt),
                "task_created_at": date(timings.taskCreatedAt),
                "task_processed_at": date(timings.taskProcessedAt),
                "task_completed_at": date(timings.taskCompletedAt),
                "published_at": date(timings.publishedAt),
            ]),
            "attempts": .object(["creates": .int(attempts.creates), "polls": .int(attempts.polls)]),
            "worker": .object(["id": .string(worker.id), "version": .string(worker.version)]),
        ]
        if let result {
            members["result"] = .object([
                "file_url": .string(result.fileURL),
                "file_url_expires_at": date(result.fileURLExpiresAt),
                "location": .string(result.location),
                "size_bytes": result.sizeBytes.map { .int($0) } ?? .null,
                "sha256": .string(result.sha256),
                "content_type": .string(result.contentType),
            ])
        }
        if let error {
            members["error"] = .object([
                "class": .string(error.errorClass.rawValue),
                "code": .string(error.code),
                "message": .string(error.message),
            ])
        }
        if let traceparent {
            members["trace"] = .object(["traceparent": .string(traceparent)])
        }
        return .object(members)
    }

    /// Reads a result message back, keeping `metadata`'s bytes exactly.
    public static func decode(_ bytes: [UInt8]) throws(ContractDecodingError) -> JobResult {
        let root: JSONValue
        let members: [String: JSONParser.Member]
        do {
            (root, members) = try JSONParser.parseWithMembers(bytes)
        } catch {
            throw ContractDecodingError("result is not valid JSON: \(error)")
        }
        var metadataBytes: [UInt8]?
        if let member = members["metadata"], member.value != .null {
            metadataBytes = Array(bytes[member.range])
        }
        return try JobResult(json: root, metadataBytes: metadataBytes)
    }

    init(json root: JSONValue, metadataBytes: [UInt8]?) throws(ContractDecodingError) {
        let object = try Self.object(root, "result message")
        func string(_ o: [String: JSONValue], _ key: String) throws(ContractDecodingError) -> String {
            guard case .string(let s)? = o[key] else { throw ContractDecodingError("\(key) must be a string") }
            return s
        }
        func optionalString(_ o: [String: JSONValue], _ key: String) throws(ContractDecodingError) -> String? {
            switch o[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw ContractDecodingError("\(key) must be a string or null")
            }
        }
        func optionalDate(_ o: [String: JSONValue], _ key: String) throws(ContractDecodingError) -> Date? {
            guard let text = try optionalString(o, key) else { return nil }
            guard let instant = RFC3339.parse(text) else { throw ContractDecodingError("\(key) is not RFC 3339") }
            return instant.date
        }
        func date(_ o: [String: JSONValue], _ key: String) throws(ContractDecodingError) -> Date {
            guard let d = try optionalDate(o, key) else { throw ContractDecodingError("\(key) is missing") }
            return d
        }
        func integer(_ o: [String: JSONValue], _ key: String) throws(ContractDecodingError) -> Int64? {
            switch o[key] {
            case nil, .null?: return nil
            case .number(let lexeme)?:
                guard let n = Int64(lexeme) else { throw ContractDecodingError("\(key) must be an integer") }
                return n
            default: throw ContractDecodingError("\(key) must be an integer")
            }
        }

        jobID = try string(object, "job_id")
        guard let status = Status(rawValue: try string(object, "status")) else {
            throw ContractDecodingError("status must be succeeded or failed")
        }
        self.status = status
        taskID = try optionalString(object, "task_id")
        if let f = try optionalString(object, "format") {
            guard let parsed = OutputFormat(rawValue: f) else { throw ContractDecodingError("unknown format") }
            format = parsed
        } else {
            format = nil
        }
        switch object["metadata"] {
        case nil, .null?: metadata = nil
        case .object(let value)?:
            metadata = RawJSON(
                uncheckedBytes: metadataBytes ?? JSONValue.object(value).canonicalBytes, value: .object(value))
        default: throw ContractDecodingError("metadata must be an object or null")
        }
        if let r = object["result"], r != .null {
            let o = try Self.object(r, "result")
            result = ResultFile(
                fileURL: try string(o, "file_url"), fileURLExpiresAt: try date(o, "file_url_expires_at"),
                location: try optionalString(o, "location"), sizeBytes: try integer(o, "size_bytes"),
                sha256: try optionalString(o, "sha256"), contentType: try string(o, "content_type"))
        } else {
            result = nil
        }
        if let e = object["error"], e != .null {
            let o = try Self.object(e, "error")
            guard let errorClass = ErrorClass(rawValue: try string(o, "class")) else {
                throw ContractDecodingError("unknown error class")
            }
            error = Failure(errorClass: errorClass, code: try string(o, "code"), message: try string(o, "message"))
        } else {
            error = nil
        }
        let t = try Self.object(object["timings"] ?? .null, "timings")
        timings = Timings(
            enqueuedAt: try optionalDate(t, "enqueued_at"), taskCreatedAt: try optionalDate(t, "task_created_at"),
            taskProcessedAt: try optionalDate(t, "task_processed_at"),
            taskCompletedAt: try optionalDate(t, "task_completed_at"), publishedAt: try date(t, "published_at"))
        let a = try Self.object(object["attempts"] ?? .null, "attempts")
        func count(_ key: String) throws(ContractDecodingError) -> Int {
            guard let value = try integer(a, key) else { return 0 }
            guard let count = Int(exactly: value) else { throw ContractDecodingError("\(key) is out of range") }
            return count
        }
        attempts = Attempts(creates: try count("creates"), polls: try count("polls"))
        let w = try Self.object(object["worker"] ?? .null, "worker")
        worker = WorkerInfo(id: try string(w, "id"), version: try string(w, "version"))
        if let trace = object["trace"], trace != .null {
            traceparent = try optionalString(try Self.object(trace, "trace"), "traceparent")
        } else {
            traceparent = nil
        }
        guard (status == .succeeded) == (result != nil), (status == .failed) == (error != nil) else {
            throw ContractDecodingError("a succeeded result needs `result`, a failed one `error`")
        }
    }

    private static func object(_ value: JSONValue, _ name: String) throws(ContractDecodingError) -> [String: JSONValue] {
        guard case .object(let o) = value else { throw ContractDecodingError("\(name) must be an object") }
        return o
    }
}

extension JobResult: Codable {
    /// Decodes through `JSONValue`; `metadata` then holds canonical bytes (use
    /// ``decode(_:)`` to keep the original ones).
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        try self.init(json: value, metadataBytes: nil)
    }

    /// Encodes the same members as ``encodedJSON()``; only ``encodedJSON()`` guarantees
    /// byte-identical metadata and ordering.
    public func encode(to encoder: any Encoder) throws {
        try JSONParser.parse(encodedJSON()).encode(to: encoder)
    }
}

/// A contract message (result, dead-letter headers) that cannot be read back.
public struct ContractDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
