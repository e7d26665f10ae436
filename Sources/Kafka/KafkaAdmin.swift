internal import Crdkafka
public import Logging

/// Topic administration.
public struct KafkaAdmin: Sendable {
    public struct NewTopic: Sendable, Hashable {
        public var name: String
        public var partitions: Int32
        /// -1 uses the broker's default.
        public var replicationFactor: Int32
        /// Topic configs such as `retention.ms` or `cleanup.policy`.
        public var config: [String: String]

        public init(name: String, partitions: Int32, replicationFactor: Int32 = -1, config: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.config = config
        }
    }

    public let client: KafkaClientConfiguration
    private let logger: Logger

    public init(client: KafkaClientConfiguration, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates the topics that do not exist yet. A topic that already exists is not an
    /// error (its partition count is left as it is), so this is safe at every start.
    public func createTopics(_ topics: [NewTopic], timeout: Duration = .seconds(30)) async throws(KafkaError) {
        guard !topics.isEmpty else { return }
        var properties = client.librdkafkaProperties.merging(client.properties) { _, p in p }
        properties["log.queue"] = "true"
        let rd = try RDKafkaClient.make(kind: .producer, properties: properties, events: 0, logger: logger)
        defer { Task.detached { try? await BlockingCall.run { rd.destroy() } } }
        let logger = self.logger
        try await BlockingCall.run { () throws(KafkaError) in
            try rd.use("create topics") { handle throws(KafkaError) in
                var errstr = [CChar](repeating: 0, count: 512)
                var newTopics: [OpaquePointer?] = []
                defer { newTopics.withUnsafeMutableBufferPointer { rd_kafka_NewTopic_destroy_array($0.baseAddress, $0.count) } }
                for t in topics {
                    guard let nt = rd_kafka_NewTopic_new(t.name, t.partitions, t.replicationFactor, &errstr, errstr.count) else {
                        throw KafkaError(code: .invalidArgument, message: "topic \(t.name): \(String(cBuffer: errstr))", operation: "create topics")
                    }
                    newTopics.append(nt)
                    for (k, v) in t.config { _ = rd_kafka_NewTopic_set_config(nt, k, v) }
                }
                let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
                defer { rd_kafka_AdminOptions_destroy(options) }
                _ = rd_kafka_AdminOptions_set_operation_timeout(options, Int32(clamping: timeout.milliseconds), &errstr, errstr.count)
                _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(clamping: timeout.milliseconds), &errstr, errstr.count)
                let queue = rd_kafka_queue_new(handle)
                defer { rd_kafka_queue_destroy(queue) }
                newTopics.withUnsafeMutableBufferPointer {
                    rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue)
                }
                // The admin result is the only event on this private queue.
                guard let event = rd_kafka_queue_poll(queue, Int32(clamping: timeout.milliseconds + 5000)) else {
                    throw KafkaError(code: .timedOut, message: "no answer to CreateTopics", operation: "create topics")
                }
                defer { rd_kafka_event_destroy(event) }
                let err = rd_kafka_event_error(event)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(err, operation: "create topics", message: String(cString: rd_kafka_event_error_string(event)))
                }
                guard let result = rd_kafka_event_CreateTopics_result(event) else { return }
                var count = 0
                guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
                for i in 0..<count {
                    let r = results[i]
                    let e = rd_kafka_topic_result_error(r)
                    let name = String(cString: rd_kafka_topic_result_name(r))
                    if e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                        logger.debug("topic exists", metadata: ["topic": "\(name)"])
                    } else if e != RD_KAFKA_RESP_ERR_NO_ERROR {
                        let text = rd_kafka_topic_result_error_string(r).map { String(cString: $0) } ?? ""
                        throw KafkaError(e, operation: "create topic \(name)", message: text)
                    }
                }
            }
        }
    }
}
