internal import Crdkafka
import Foundation
import Logging
import Synchronization

/// The one owner of a librdkafka handle (`rd_kafka_t`).
///
/// Everything that touches the C handle goes through this type. librdkafka's handle is
/// thread-safe for the calls made here (polling a queue, produce, commit, pause, assign),
/// which is why the class can be shared across threads; the wrappers above it keep their
/// own state in locks.
///
/// No C callbacks are registered: librdkafka is configured with an events mask, and its
/// events (messages, delivery reports, rebalances, logs, errors, statistics) are drained
/// from a queue by ``PollLoop`` on a dedicated thread.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer, consumer

        var c: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    /// `RD_KAFKA_PARTITION_UA`: a partition the group or the partitioner chooses (the C
    /// macro is not imported into Swift).
    static let unassignedPartition: Int32 = -1

    let handle: OpaquePointer
    let kind: Kind
    let logger: Logger

    private init(handle: OpaquePointer, kind: Kind, logger: Logger) {
        self.handle = handle
        self.kind = kind
        self.logger = logger
    }

    /// Creates the handle from plain properties, with `events` enabled on its queues.
    static func make(
        kind: Kind,
        properties: [String: String],
        events: Int32,
        logger: Logger
    ) throws(KafkaError) -> RDKafkaClient {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .invalidArgument, message: "rd_kafka_conf_new failed", operation: "configure")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                // The value may be a secret: report the property name and librdkafka's
                // reason only.
                throw KafkaError(
                    code: .invalidArgument,
                    message: "property \(key): \(String(cBuffer: errstr))",
                    operation: "configure"
                )
            }
        }
        if events != 0 { rd_kafka_conf_set_events(conf, events) }
        // On success rd_kafka_new takes ownership of conf; on failure it stays ours.
        guard let handle = rd_kafka_new(kind.c, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: .invalidArgument, message: String(cBuffer: errstr), operation: "create client")
        }
        // Route librdkafka's logs to the main queue, where the poll loop turns them into
        // swift-log records (requires log.queue=true).
        rd_kafka_set_log_queue(handle, nil)
        return RDKafkaClient(handle: handle, kind: kind, logger: logger)
    }

    /// Guards the handle against use after ``destroy(skipConsumerClose:)``: calls made
    /// from other threads (commit, pause, produce) register here first.
    private let usage = Mutex<(destroyed: Bool, active: Int)>((false, 0))

    /// Runs `body` with the handle unless the client was destroyed; ``destroy`` waits for
    /// every such call to return before it frees the handle.
    func use<T>(_ operation: String, _ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        let admitted = usage.withLock { state -> Bool in
            if state.destroyed { return false }
            state.active += 1
            return true
        }
        guard admitted else { throw KafkaError.closed(operation) }
        defer { usage.withLock { $0.active -= 1 } }
        return try body(handle)
    }

    /// Frees the handle once no other call uses it. Blocking: call it from the poll loop
    /// thread or a ``BlockingCall``, never from the cooperative pool. For a consumer,
    /// `skipConsumerClose` skips leaving the group (done before by the close sequence).
    func destroy(skipConsumerClose: Bool = false) {
        let first = usage.withLock { state -> Bool in
            defer { state.destroyed = true }
            return !state.destroyed
        }
        guard first else { return }
        while usage.withLock({ $0.active }) > 0 { usleep(1000) }
        let flags: Int32 = skipConsumerClose ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0
        rd_kafka_destroy_flags(handle, flags)
    }

    // MARK: Partition lists

    /// A new C list; the caller destroys it with `rd_kafka_topic_partition_list_destroy`.
    static func makeList(_ offsets: [TopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for o in offsets {
            rd_kafka_topic_partition_list_add(list, o.topic, o.partition).pointee.offset = o.offset
        }
        return list
    }

    static func makeList(_ partitions: [TopicPartition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        makeList(partitions.map { TopicPartitionOffset($0, offset: Int64(RD_KAFKA_OFFSET_INVALID)) })
    }

    static func offsets(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartitionOffset] {
        guard let list else { return [] }
        return (0..<Int(list.pointee.cnt)).map { i in
            let e = list.pointee.elems[i]
            return TopicPartitionOffset(topic: String(cString: e.topic), partition: e.partition, offset: e.offset)
        }
    }

    /// The first per-partition error in a list that librdkafka filled in.
    static func firstError(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, operation: String) -> KafkaError? {
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            if e.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return KafkaError(
                    e.err,
                    operation: operation,
                    message: "\(String(cString: e.topic))[\(e.partition)]: \(String(cString: rd_kafka_err2str(e.err)))"
                )
            }
        }
        return nil
    }

    // MARK: Messages

    /// Copies a librdkafka message (payload, key, headers) into Swift values.
    static func consumerMessage(_ m: UnsafePointer<rd_kafka_message_t>) -> KafkaConsumerMessage {
        let msg = m.pointee
        let topic = msg.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) }
        let key = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        var tsType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(m, &tsType)
        let type: KafkaConsumerMessage.TimestampType? =
            switch tsType {
            case RD_KAFKA_TIMESTAMP_CREATE_TIME: .createTime
            case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: .logAppendTime
            default: nil
            }
        let stamp = KafkaConsumerMessage.timestamp(milliseconds: ts, type: type)
        return KafkaConsumerMessage(
            topic: topic,
            partition: msg.partition,
            offset: msg.offset,
            key: key,
            value: value,
            headers: headers(of: m),
            timestamp: stamp?.date,
            timestampType: stamp?.type,
            timestampMilliseconds: stamp?.milliseconds
        )
    }

    private static func headers(of m: UnsafePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var hdrs: OpaquePointer?
        // The headers stay owned by the message; they are read, not detached.
        guard rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return [] }
        var result: [KafkaHeader] = []
        let count = rd_kafka_header_cnt(hdrs)
        result.reserveCapacity(count)
        for i in 0..<count {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
                let name
            else { continue }
            result.append(
                KafkaHeader(
                    key: String(cString: name),
                    value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                )
            )
        }
        return result
    }

    // MARK: Events shared by producers and consumers

    /// Handles the events every client emits: logs, errors and statistics. Returns the
    /// statistics JSON for `RD_KAFKA_EVENT_STATS`, nil otherwise.
    func handleCommonEvent(_ event: OpaquePointer, type: Int32) -> CommonEvent {
        switch type {
        case RD_KAFKA_EVENT_LOG:
            var fac: UnsafePointer<CChar>?
            var str: UnsafePointer<CChar>?
            var level: Int32 = 0
            if rd_kafka_event_log(event, &fac, &str, &level) == 0 {
                let text = str.map { String(cString: $0) } ?? ""
                let facility = fac.map { String(cString: $0) } ?? ""
                logger.log(level: Self.logLevel(syslog: level), "\(text)", metadata: ["rdkafka.facility": "\(facility)"])
            }
            return .none
        case RD_KAFKA_EVENT_ERROR:
            let err = rd_kafka_event_error(event)
            let fatal = rd_kafka_event_error_is_fatal(event) != 0
            var error = KafkaError(err, operation: "client", message: String(cString: rd_kafka_event_error_string(event)))
            if fatal {
                // The event carries the generic _FATAL code; the underlying one is here.
                var buf = [CChar](repeating: 0, count: 512)
                let underlying = rd_kafka_fatal_error(handle, &buf, buf.count)
                error = KafkaError(underlying, operation: "client", message: String(cBuffer: buf))
                error.isFatal = true
                logger.critical("librdkafka fatal error", metadata: ["error": "\(error)"])
            } else {
                // Most of these are informational: librdkafka retries on its own.
                logger.warning("librdkafka error", metadata: ["error": "\(error)"])
            }
            return .error(error)
        case RD_KAFKA_EVENT_STATS:
            guard let json = rd_kafka_event_stats(event) else { return .none }
            return .statistics(String(cString: json))
        default:
            return .none
        }
    }

    enum CommonEvent {
        case none
        case error(KafkaError)
        case statistics(String)
    }

    private static func logLevel(syslog: Int32) -> Logger.Level {
        switch syslog {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5, 6: return .info
        default: return .debug
        }
    }
}

extension String {
    /// Reads a NUL-terminated C string out of a fixed-size buffer librdkafka wrote into.
    init(cBuffer: [CChar]) {
        self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
