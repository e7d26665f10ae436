internal import Crdkafka
public import Logging
import Synchronization

/// A Kafka producer: idempotent by default, with awaited delivery reports and
/// transactions.
///
/// ``send(_:)`` returns when the broker acknowledged the record (or librdkafka gave up on
/// it), so a caller that awaits it knows the record is durable before it commits the
/// input offset. Delivery reports are drained from librdkafka's main queue by a poll loop
/// on a thread of its own.
public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration

    private let client: RDKafkaClient
    private let shared = Shared()
    private let loop: PollLoop
    private let logger: Logger

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        let client = try RDKafkaClient.make(
            kind: .producer,
            properties: configuration.librdkafkaProperties,
            events: RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_LOG | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_STATS,
            logger: logger
        )
        self.client = client
        let shared = self.shared
        loop = PollLoop(
            name: "kafka-producer",
            queue: rd_kafka_queue_get_main(client.handle)!,
            handle: { event, type in
                if type == RD_KAFKA_EVENT_DR {
                    while let m = rd_kafka_event_message_next(event) {
                        let id = UInt(bitPattern: m.pointee._private)
                        let result: Result<KafkaDeliveryReport, KafkaError>
                        if m.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                            result = .success(
                                KafkaDeliveryReport(
                                    topic: m.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
                                    partition: m.pointee.partition,
                                    offset: m.pointee.offset
                                )
                            )
                        } else {
                            result = .failure(KafkaError(m.pointee.err, operation: "deliver"))
                        }
                        shared.deliveries.withLock { $0.complete(id: id) }?.resume(returning: result)
                    }
                    return
                }
                switch client.handleCommonEvent(event, type: type) {
                case .statistics(let json):
                    if let s = KafkaStatistics(json: json) { shared.statistics.withLock { $0 = s } }
                case .error(let error) where error.isFatal:
                    shared.fatalError.withLock { $0 = error }
                default:
                    break
                }
            }
        )
    }

    /// The latest statistics, when ``KafkaClientConfiguration/statisticsInterval`` is set.
    public var statistics: KafkaStatistics? { shared.statistics.withLock { $0 } }

    /// Sends one record and waits for its delivery report.
    ///
    /// Throws at once (no waiting) when the local queue is full
    /// (``KafkaError/Code/queueFull``), the record is larger than `message.max.bytes`, or
    /// the producer hit a fatal error; throws later when the broker rejects the record or
    /// `message.timeout.ms` passes. The producer stays usable after non-fatal errors.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        if let fatal = shared.fatalError.withLock({ $0 }) { throw fatal }
        let result: Result<KafkaDeliveryReport, KafkaError> = await withCheckedContinuation { continuation in
            // Register before producing: the report can arrive before produce returns.
            let id = shared.deliveries.withLock { $0.register(continuation) }
            do throws(KafkaError) {
                try produce(message, opaque: id)
            } catch {
                shared.deliveries.withLock { $0.complete(id: id) }?.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Hands one record to librdkafka (`rd_kafka_produceva`, the non-variadic form of
    /// `rd_kafka_producev`). `RD_KAFKA_MSG_F_COPY` makes librdkafka copy key and value, so
    /// the Swift buffers need to live only for this call.
    private func produce(_ message: KafkaProducerMessage, opaque: UInt) throws(KafkaError) {
        try client.use("produce") { handle throws(KafkaError) in
            // Headers are handed over to librdkafka on success and stay ours on failure.
            var headers: OpaquePointer?
            if !message.headers.isEmpty {
                headers = rd_kafka_headers_new(message.headers.count)
                for h in message.headers {
                    if let value = h.value {
                        value.withUnsafeBytes { _ = rd_kafka_header_add(headers, h.key, -1, $0.baseAddress, $0.count) }
                    } else {
                        _ = rd_kafka_header_add(headers, h.key, -1, nil, 0)
                    }
                }
            }
            let error: OpaquePointer? = message.topic.withCString { topic in
                withOptionalBytes(message.key) { key in
                    withOptionalBytes(message.value) { value in
                        var vus = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 7)
                        vus[0].vtype = RD_KAFKA_VTYPE_TOPIC
                        vus[0].u.cstr = topic
                        vus[1].vtype = RD_KAFKA_VTYPE_PARTITION
                        vus[1].u.i32 = message.partition ?? RDKafkaClient.unassignedPartition
                        vus[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        vus[2].u.i = RD_KAFKA_MSG_F_COPY
                        vus[3].vtype = RD_KAFKA_VTYPE_VALUE
                        vus[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: value?.baseAddress)
                        vus[3].u.mem.size = value?.count ?? 0
                        vus[4].vtype = RD_KAFKA_VTYPE_KEY
                        vus[4].u.mem.ptr = UnsafeMutableRawPointer(mutating: key?.baseAddress)
                        vus[4].u.mem.size = key?.count ?? 0
                        vus[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                        vus[5].u.ptr = UnsafeMutableRawPointer(bitPattern: opaque)
                        var count = 6
                        if let headers {
                            vus[6].vtype = RD_KAFKA_VTYPE_HEADERS
                            vus[6].u.headers = headers
                            count = 7
                        }
                        return rd_kafka_produceva(handle, vus, count)
                    }
                }
            }
            if let error {
                if let headers { rd_kafka_headers_destroy(headers) }
                throw KafkaError(consuming: error, operation: "produce to \(message.topic)")
            }
        }
    }

    /// Waits until every record handed to librdkafka was delivered or failed.
    public func flush(timeout: Duration) async throws(KafkaError) {
        let client = self.client
        try await BlockingCall.run { () throws(KafkaError) in
            try client.use("flush") { handle throws(KafkaError) in
                // With delivery reports as events, rd_kafka_flush only waits; the poll
                // loop keeps draining the reports meanwhile.
                let err = rd_kafka_flush(handle, Int32(clamping: timeout.milliseconds))
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "flush") }
            }
        }
    }

    /// Flushes (up to `flushTimeout`), stops the poll loop and frees the client. Sends
    /// still waiting for a report fail with ``KafkaError/Code/destroyed``.
    public func close(flushTimeout: Duration = .seconds(10)) async {
        do {
            try await flush(timeout: flushTimeout)
        } catch {
            if error.code != .destroyed {
                logger.warning("producer flush before close failed", metadata: ["error": "\(error)"])
            }
        }
        loop.requestStop()
        await loop.waitUntilFinished()
        let client = self.client
        try? await BlockingCall.run { client.destroy() }
        for c in shared.deliveries.withLock({ $0.completeAll() }) {
            c.resume(returning: .failure(KafkaError.closed("deliver")))
        }
    }

    // MARK: Transactions

    /// Registers the `transactional.id` with the coordinator, fencing older instances,
    /// and finishes any transaction they left open. Call once before the first
    /// ``beginTransaction()``.
    public func initTransactions(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        try await blockingTransactionCall("init transactions") { rd_kafka_init_transactions($0, Int32(clamping: timeout.milliseconds)) }
    }

    /// Starts a transaction. Local and non-blocking.
    public func beginTransaction() throws(KafkaError) {
        try client.use("begin transaction") { handle throws(KafkaError) in
            if let error = rd_kafka_begin_transaction(handle) {
                throw KafkaError(consuming: error, operation: "begin transaction")
            }
        }
    }

    /// Adds a consumer group's offsets to the transaction: they become the group's
    /// committed offsets if and only if the transaction commits (consume-transform-produce
    /// exactly once).
    public func sendOffsetsToTransaction(
        _ offsets: [TopicPartitionOffset],
        consumer: KafkaConsumer,
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) {
        let metadata = UncheckedPointer(try consumer.groupMetadata())
        defer { rd_kafka_consumer_group_metadata_destroy(metadata.pointer) }
        try await blockingTransactionCall("send offsets to transaction") { handle in
            let list = RDKafkaClient.makeList(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return rd_kafka_send_offsets_to_transaction(handle, list, metadata.pointer, Int32(clamping: timeout.milliseconds))
        }
    }

    /// Commits the transaction, flushing its records first.
    public func commitTransaction(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        try await blockingTransactionCall("commit transaction") { rd_kafka_commit_transaction($0, Int32(clamping: timeout.milliseconds)) }
    }

    /// Aborts the transaction: its records stay invisible to `read_committed` consumers.
    public func abortTransaction(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        try await blockingTransactionCall("abort transaction") { rd_kafka_abort_transaction($0, Int32(clamping: timeout.milliseconds)) }
    }

    private func blockingTransactionCall(
        _ operation: String,
        _ call: @escaping @Sendable (OpaquePointer) -> OpaquePointer?
    ) async throws(KafkaError) {
        let client = self.client
        try await BlockingCall.run { () throws(KafkaError) in
            try client.use(operation) { handle throws(KafkaError) in
                if let error = call(handle) { throw KafkaError(consuming: error, operation: operation) }
            }
        }
    }
}

/// State shared between the producer and its poll loop.
private final class Shared: Sendable {
    let deliveries = Mutex(DeliveryTracker())
    let statistics = Mutex<KafkaStatistics?>(nil)
    /// Set once librdkafka reports a fatal error; every later send fails with it.
    let fatalError = Mutex<KafkaError?>(nil)
}

/// Continuations of sends waiting for their delivery reports, by the opaque id that
/// travels with the record through librdkafka.
struct DeliveryTracker {
    typealias Waiter = CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>
    private var nextID: UInt = 1 // never 0: a null opaque would be ambiguous
    private var waiting: [UInt: Waiter] = [:]

    mutating func register(_ waiter: Waiter) -> UInt {
        defer { nextID &+= 1 }
        waiting[nextID] = waiter
        return nextID
    }

    mutating func complete(id: UInt) -> Waiter? { waiting.removeValue(forKey: id) }

    mutating func completeAll() -> [Waiter] {
        defer { waiting = [:] }
        return Array(waiting.values)
    }

    var count: Int { waiting.count }
}

/// A C pointer handed to a blocking call on another thread; used by one thread at a time.
struct UncheckedPointer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
