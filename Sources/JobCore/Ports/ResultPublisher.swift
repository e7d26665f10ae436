/// Where results and dead letters go: the Kafka producer (`Worker/Adapters`), or a
/// recording fake in tests. Returns once the broker acknowledged the record.
public protocol ResultPublisher: Sendable {
    func publish(_ record: OutgoingRecord) async throws
}

/// A record to publish: topic, key, value and headers, as bytes.
public struct OutgoingRecord: Sendable, Hashable {
    public struct Header: Sendable, Hashable {
        public var key: String
        public var value: [UInt8]?

        public init(key: String, value: [UInt8]?) {
            self.key = key
            self.value = value
        }

        public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
    }

    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [Header]

    public init(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [Header] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }
}

extension Array where Element == OutgoingRecord.Header {
    /// The last header of that name (Kafka allows repeats; the last one wins).
    public func last(named key: String) -> OutgoingRecord.Header? { last { $0.key == key } }
}
