public import Foundation

/// Why a record was dead-lettered, and where it came from: what the headers of an
/// `ocr.jobs.dlq` record say (schemas/dead-letter-headers.schema.json).
public struct DeadLetterInfo: Sendable, Hashable {
    /// Kafka's timestamp types, spelled as Kafka's `TimestampType.toString()` writes them
    /// (the value Spring puts in `kafka_dlt-original-timestamp-type`).
    public enum TimestampType: String, Sendable, Hashable, CaseIterable {
        case createTime = "CreateTime"
        case logAppendTime = "LogAppendTime"
        case none = "NoTimestampType"
    }

    /// The record as it was consumed.
    public struct Origin: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        /// Milliseconds since the epoch; `nil` when the record had none.
        public var timestamp: Int64?
        public var timestampType: TimestampType

        public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64?, timestampType: TimestampType) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.timestamp = timestamp
            self.timestampType = timestamp == nil ? .none : timestampType
        }

        /// A record's timestamp in epoch milliseconds, for ``timestamp``: `nil` for no
        /// date, a NaN or infinite one, or one whose milliseconds (rounded to the nearest)
        /// do not fit an `Int64`. Never traps, whatever the date: a Kafka timestamp of
        /// `Int64.max` ms read back from a `Date` is one such. Prefer the record's exact
        /// milliseconds when the consumer kept them (`KafkaConsumerMessage.timestampMilliseconds`).
        public static func epochMillis(_ date: Date?) -> Int64? {
            guard let date else { return nil }
            let scaled = (date.timeIntervalSince1970 * 1000).rounded()
            guard scaled.isFinite else { return nil }
            return Int64(exactly: scaled)
        }
    }

    public var errorClass: ErrorClass
    public var code: String
    public var message: String
    public var createAttempts: Int
    public var pollAttempts: Int
    public var firstSeenAt: Date
    public var failedAt: Date
    public var taskID: String?
    public var workerID: String
    /// The consumer group that gave up on the record.
    public var consumerGroup: String?
    public var origin: Origin

    public init(
        errorClass: ErrorClass, code: String, message: String, createAttempts: Int, pollAttempts: Int,
        firstSeenAt: Date, failedAt: Date, taskID: String?, workerID: String, consumerGroup: String?, origin: Origin
    ) {
        self.errorClass = errorClass
        self.code = code
        self.message = DeadLetterHeaders.truncated(message)
        self.createAttempts = createAttempts
        self.pollAttempts = pollAttempts
        self.firstSeenAt = RFC3339.truncatedToMilliseconds(firstSeenAt)
        self.failedAt = RFC3339.truncatedToMilliseconds(failedAt)
        self.taskID = taskID
        self.workerID = workerID
        self.consumerGroup = consumerGroup
        self.origin = origin
    }

    /// The info for a message that broke the job contract.
    public init(
        rejection: JobRejection, firstSeenAt: Date, failedAt: Date, workerID: String, consumerGroup: String?,
        origin: Origin
    ) {
        self.init(
            errorClass: .invalidJob, code: rejection.code.rawValue, message: rejection.message, createAttempts: 0,
            pollAttempts: 0, firstSeenAt: firstSeenAt, failedAt: failedAt, taskID: nil, workerID: workerID,
            consumerGroup: consumerGroup, origin: origin)
    }
}

/// One header to add to a dead-lettered record.
public struct DeadLetterHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// The headers added to a dead-lettered record (after its original headers, which are
/// kept unchanged), in three vocabularies so that existing tools read them:
///
/// - ours, `ocr.*`: UTF-8 strings; times RFC 3339, the original timestamp in epoch ms;
/// - Kafka Connect's `__connect.errors.*`: UTF-8 strings, numbers in decimal, as Connect's
///   `DeadLetterQueueReporter` writes them (`connector.name` is the worker id);
/// - Spring Kafka's `kafka_dlt-*` (`KafkaHeaders.DLT_*`): strings, except the original
///   partition (4-byte big-endian int), offset and timestamp (8-byte big-endian longs), as
///   `DeadLetterPublishingRecoverer` writes them.
public enum DeadLetterHeaders {
    public static let errorClass = "ocr.error.class"
    public static let errorCode = "ocr.error.code"
    public static let errorMessage = "ocr.error.message"
    public static let attemptsCreates = "ocr.attempts.creates"
    public static let attemptsPolls = "ocr.attempts.polls"
    public static let firstSeenAt = "ocr.first_seen_at"
    public static let failedAt = "ocr.failed_at"
    public static let taskID = "ocr.task_id"
    public static let workerID = "ocr.worker.id"
    public static let originalTopic = "ocr.original.topic"
    public static let originalPartition = "ocr.original.partition"
    public static let originalOffset = "ocr.original.offset"
    public static let originalTimestamp = "ocr.original.timestamp"

    public static let connectTopic = "__connect.errors.topic"
    public static let connectPartition = "__connect.errors.partition"
    public static let connectOffset = "__connect.errors.offset"
    public static let connectExceptionClass = "__connect.errors.exception.class.name"
    public static let connectExceptionMessage = "__connect.errors.exception.message"
    public static let connectConnectorName = "__connect.errors.connector.name"

    public static let springOriginalTopic = "kafka_dlt-original-topic"
    public static let springOriginalPartition = "kafka_dlt-original-partition"
    public static let springOriginalOffset = "kafka_dlt-original-offset"
    public static let springOriginalTimestamp = "kafka_dlt-original-timestamp"
    public static let springOriginalTimestampType = "kafka_dlt-original-timestamp-type"
    public static let springExceptionFQCN = "kafka_dlt-exception-fqcn"
    public static let springExceptionMessage = "kafka_dlt-exception-message"
    public static let springOriginalConsumerGroup = "kafka_dlt-original-consumer-group"

    /// Spring headers whose values are binary big-endian integers, with their width.
    public static let binaryHeaderWidths: [String: Int] = [
        springOriginalPartition: 4, springOriginalOffset: 8, springOriginalTimestamp: 8,
    ]

    /// Every header name this type writes; a replay strips these before republishing.
    public static let allNames: Set<String> = [
        errorClass, errorCode, errorMessage, attemptsCreates, attemptsPolls, firstSeenAt, failedAt, taskID, workerID,
        originalTopic, originalPartition, originalOffset, originalTimestamp,
        connectTopic, connectPartition, connectOffset, connectExceptionClass, connectExceptionMessage,
        connectConnectorName,
        springOriginalTopic, springOriginalPartition, springOriginalOffset, springOriginalTimestamp,
        springOriginalTimestampType, springExceptionFQCN, springExceptionMessage, springOriginalConsumerGroup,
    ]

    /// The longest `message` kept, in UTF-8 bytes (headers are not the place for essays).
    public static let maxMessageBytes = 1024

    /// The headers for `info`, in a fixed order.
    public static func make(_ info: DeadLetterInfo) -> [DeadLetterHeader] {
        var headers: [DeadLetterHeader] = []
        func add(_ name: String, _ text: String) { headers.append(DeadLetterHeader(name: name, value: Array(text.utf8))) }
        func add(_ name: String, bigEndian value: some FixedWidthInteger) {
            headers.append(DeadLetterHeader(name: name, value: withUnsafeBytes(of: value.bigEndian, Array.init)))
        }
        let origin = info.origin
        add(errorClass, info.errorClass.rawValue)
        add(errorCode, info.code)
        add(errorMessage, info.message)
        add(attemptsCreates, String(info.createAttempts))
        add(attemptsPolls, String(info.pollAttempts))
        add(firstSeenAt, RFC3339.format(info.firstSeenAt))
        add(failedAt, RFC3339.format(info.failedAt))
        if let task = info.taskID { add(taskID, task) }
        add(workerID, info.workerID)
        add(originalTopic, origin.topic)
        add(originalPartition, String(origin.partition))
        add(originalOffset, String(origin.offset))
        if let timestamp = origin.timestamp { add(originalTimestamp, String(timestamp)) }

        add(connectTopic, origin.topic)
        add(connectPartition, String(origin.partition))
        add(connectOffset, String(origin.offset))
        add(connectExceptionClass, info.errorClass.exceptionClassName)
        add(connectExceptionMessage, info.code + ": " + info.message)
        add(connectConnectorName, info.workerID)

        add(springOriginalTopic, origin.topic)
        add(springOriginalPartition, bigEndian: origin.partition)
        add(springOriginalOffset, bigEndian: origin.offset)
        if let timestamp = origin.timestamp { add(springOriginalTimestamp, bigEndian: timestamp) }
        add(springOriginalTimestampType, origin.timestampType.rawValue)
        add(springExceptionFQCN, info.errorClass.exceptionClassName)
        add(springExceptionMessage, info.code + ": " + info.message)
        if let group = info.consumerGroup { add(springOriginalConsumerGroup, group) }
        return headers
    }

    /// Reads the headers of a dead-lettered record back (the last value of each name wins,
    /// as in Kafka, so a record dead-lettered twice reports its latest failure). Our
    /// `ocr.*` headers are required; the original coordinates fall back to the Spring and
    /// then the Connect headers, so records dead-lettered by other tools still show where
    /// they came from.
    public static func parse(_ headers: [(name: String, value: [UInt8]?)]) throws(ContractDecodingError) -> DeadLetterInfo {
        var last: [String: [UInt8]] = [:]
        for header in headers {
            if let value = header.value { last[header.name] = value } else { last[header.name] = nil }
        }
        func text(_ name: String) -> String? { last[name].flatMap { String(validating: $0, as: UTF8.self) } }
        func required(_ name: String) throws(ContractDecodingError) -> String {
            guard let value = text(name) else { throw ContractDecodingError("header \(name) is missing") }
            return value
        }
        func int<T: FixedWidthInteger>(_ name: String, _: T.Type) throws(ContractDecodingError) -> T? {
            guard let value = text(name) else { return nil }
            guard let number = T(value) else { throw ContractDecodingError("header \(name) is not an integer") }
            return number
        }
        func binary<T: FixedWidthInteger>(_ name: String, _: T.Type) throws(ContractDecodingError) -> T? {
            guard let bytes = last[name] else { return nil }
            guard bytes.count == MemoryLayout<T>.size else {
                throw ContractDecodingError("header \(name) is not a \(MemoryLayout<T>.size)-byte integer")
            }
            return bytes.reduce(T.zero) { $0 << 8 | T(truncatingIfNeeded: $1) }
        }
        func date(_ name: String) throws(ContractDecodingError) -> Date {
            guard let instant = RFC3339.parse(try required(name)) else {
                throw ContractDecodingError("header \(name) is not an RFC 3339 date-time")
            }
            return instant.date
        }

        guard let errorClassValue = ErrorClass(rawValue: try required(errorClass)) else {
            throw ContractDecodingError("header \(errorClass) names no known error class")
        }
        let topic = text(originalTopic) ?? text(springOriginalTopic) ?? text(connectTopic)
        var partition = try int(originalPartition, Int32.self)
        if partition == nil { partition = try binary(springOriginalPartition, Int32.self) }
        if partition == nil { partition = try int(connectPartition, Int32.self) }
        var offset = try int(originalOffset, Int64.self)
        if offset == nil { offset = try binary(springOriginalOffset, Int64.self) }
        if offset == nil { offset = try int(connectOffset, Int64.self) }
        guard let topic, let partition, let offset else {
            throw ContractDecodingError("the original topic, partition or offset is missing")
        }
        var timestamp = try int(originalTimestamp, Int64.self)
        if timestamp == nil { timestamp = try binary(springOriginalTimestamp, Int64.self) }
        let timestampType = text(springOriginalTimestampType).flatMap(DeadLetterInfo.TimestampType.init) ?? .createTime
        return DeadLetterInfo(
            errorClass: errorClassValue, code: try required(errorCode), message: try required(errorMessage),
            createAttempts: try int(attemptsCreates, Int.self) ?? 0,
            pollAttempts: try int(attemptsPolls, Int.self) ?? 0,
            firstSeenAt: try date(firstSeenAt), failedAt: try date(failedAt), taskID: text(taskID),
            workerID: try required(workerID), consumerGroup: text(springOriginalConsumerGroup),
            origin: .init(
                topic: topic, partition: partition, offset: offset, timestamp: timestamp,
                timestampType: timestampType))
    }

    /// The headers as a JSON-friendly map of name to text, the form the schema describes
    /// and `dlq show` prints: Spring's binary integers become decimal strings, other values
    /// are UTF-8 (invalid UTF-8 is shown as `base64:...`). Only the names in
    /// ``allNames`` are included; the last value of a repeated name wins.
    public static func displayValues(_ headers: [(name: String, value: [UInt8]?)]) -> [String: String] {
        var out: [String: String] = [:]
        for header in headers where allNames.contains(header.name) {
            guard let value = header.value else {
                out[header.name] = nil
                continue
            }
            if let width = binaryHeaderWidths[header.name], value.count == width {
                let number = value.reduce(Int64(0)) { $0 << 8 | Int64($1) }
                out[header.name] = String(width == 4 ? Int64(Int32(truncatingIfNeeded: number)) : number)
            } else if let text = String(validating: value, as: UTF8.self) {
                out[header.name] = text
            } else {
                out[header.name] = "base64:" + Data(value).base64EncodedString()
            }
        }
        return out
    }

    /// ``displayValues(_:)`` as canonical JSON bytes.
    public static func displayJSON(_ headers: [(name: String, value: [UInt8]?)]) -> [UInt8] {
        JSONValue.object(displayValues(headers).mapValues(JSONValue.string)).canonicalBytes
    }

    static func truncated(_ message: String) -> String {
        guard message.utf8.count > maxMessageBytes else { return message }
        var out = String.UnicodeScalarView()
        var bytes = 0
        for scalar in message.unicodeScalars {
            let width = String(scalar).utf8.count
            guard bytes + width <= maxMessageBytes - 3 else { break }
            out.append(scalar)
            bytes += width
        }
        return String(out) + "..."
    }
}

extension Array where Element == DeadLetterHeader {
    /// As (name, value) pairs, the shape ``DeadLetterHeaders/parse(_:)`` reads.
    public var pairs: [(name: String, value: [UInt8]?)] { map { ($0.name, $0.value) } }
}
