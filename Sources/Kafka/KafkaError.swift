internal import Crdkafka

/// An error from librdkafka or from this wrapper, carrying librdkafka's error code.
///
/// librdkafka reports errors in three flavours, and callers must tell them apart:
/// - *retriable*: the same call may succeed when repeated (a timeout, a leader change);
/// - *fatal*: the client instance is unusable (for example an idempotent producer whose
///   sequence numbers were lost, or a producer fenced by a newer transactional instance)
///   and must be closed and re-created;
/// - *abortable* (transactions only): the current transaction must be aborted, after
///   which the producer can begin a new one.
/// Wrapper-level failures reuse librdkafka's local codes (the negative `__` ones), so
/// everything a caller needs is in ``code``.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka's `rd_kafka_resp_err_t`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }

        /// librdkafka's symbolic name, e.g. `_QUEUE_FULL` or `MSG_SIZE_TOO_LARGE`.
        public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue))) }
        public var description: String { name }

        public static let noError = Code(RD_KAFKA_RESP_ERR_NO_ERROR)
        /// The local producer queue (`queue.buffering.max.messages` / `.kbytes`) is full.
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        /// The message is larger than `message.max.bytes` (or the broker's limit).
        public static let messageTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        /// A message was not delivered within `message.timeout.ms`.
        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let invalidArgument = Code(RD_KAFKA_RESP_ERR__INVALID_ARG)
        /// The client is closing or closed.
        public static let destroyed = Code(RD_KAFKA_RESP_ERR__DESTROY)
        /// The call is not valid in the client's current state.
        public static let state = Code(RD_KAFKA_RESP_ERR__STATE)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        /// A commit or other group call failed because a rebalance is in progress or the
        /// member is no longer part of the group.
        public static let rebalanceInProgress = Code(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        public static let unknownMemberID = Code(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        public static let illegalGeneration = Code(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
        public static let noOffset = Code(RD_KAFKA_RESP_ERR__NO_OFFSET)
        public static let topicAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        public static let groupAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED)
    }

    public var code: Code
    /// librdkafka's human readable text (never contains message payloads).
    public var message: String
    /// The client instance can no longer be used and must be re-created.
    public var isFatal: Bool
    /// Repeating the same call may succeed.
    public var isRetriable: Bool
    /// Transactions: the current transaction must be aborted before going on.
    public var requiresAbort: Bool
    /// What the wrapper was doing, e.g. `commit` or `produce to ocr.results`.
    public var operation: String

    public init(
        code: Code,
        message: String,
        operation: String,
        isFatal: Bool = false,
        isRetriable: Bool = false,
        requiresAbort: Bool = false
    ) {
        self.code = code
        self.message = message
        self.operation = operation
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.requiresAbort = requiresAbort
    }

    public var description: String {
        var flags: [String] = []
        if isFatal { flags.append("fatal") }
        if isRetriable { flags.append("retriable") }
        if requiresAbort { flags.append("abortable") }
        let suffix = flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]"
        return "Kafka \(operation) failed: \(code.name): \(message)\(suffix)"
    }

    // MARK: Failures that repeating the same call cannot fix

    /// The record is larger than the producer's `message.max.bytes` or the broker's
    /// limit: it will never be accepted as it is. librdkafka reports both with the same
    /// code (`rd_kafka_produce` documents it for the local check too).
    public var isMessageTooLarge: Bool {
        code.rawValue == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
    }

    /// The principal may not write the topic (or use the cluster): an ACL change, not a
    /// retry, fixes it.
    public var isAuthorizationFailure: Bool {
        code.rawValue == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue
            || code.rawValue == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED.rawValue
    }

    /// A consumer may not read: the topic, the group or the cluster refuses its principal,
    /// or its credentials are refused (SASL). Retrying does not help; an ACL or a secret
    /// change does, so the pod should say it cannot work rather than sit in its group.
    public var isConsumerAuthorizationFailure: Bool {
        [
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
            RD_KAFKA_RESP_ERR__AUTHENTICATION,
        ].contains { $0.rawValue == code.rawValue }
    }

    /// The broker does not know the topic (or partition), locally or remotely. A topic
    /// being created shows up within seconds; one deleted or misnamed never does, so
    /// callers give it a deadline rather than failing at once.
    public var isUnknownTopic: Bool {
        code.rawValue == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue
            || code.rawValue == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue
    }

    /// From a bare response code, with librdkafka's own text for it.
    init(_ err: rd_kafka_resp_err_t, operation: String, message: String? = nil) {
        let retriable = Self.retriableCodes.contains(err.rawValue)
        self.init(
            code: Code(err),
            message: message ?? String(cString: rd_kafka_err2str(err)),
            operation: operation,
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            isRetriable: retriable
        )
    }

    /// From an `rd_kafka_error_t`, which knows its own flags; destroys it.
    init(consuming error: OpaquePointer, operation: String) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: Code(rd_kafka_error_code(error)),
            message: String(cString: rd_kafka_error_string(error)),
            operation: operation,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            // librdkafka leaves _QUEUE_FULL and friends unflagged; they are transient all the same.
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.retriableCodes.contains(rd_kafka_error_code(error).rawValue),
            requiresAbort: rd_kafka_error_txn_requires_abort(error) != 0
        )
    }

    static func closed(_ operation: String) -> KafkaError {
        KafkaError(code: .destroyed, message: "the client is closed", operation: operation)
    }

    /// Codes that librdkafka documents as transient for bare (non `rd_kafka_error_t`) results.
    private static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue,
        RD_KAFKA_RESP_ERR__TRANSPORT.rawValue,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS.rawValue,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue,
    ]
}
