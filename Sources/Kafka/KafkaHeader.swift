/// A Kafka record header. Keys may repeat; order is preserved. A header value may be null.
public struct KafkaHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, value: String) {
        self.key = key
        self.value = Array(value.utf8)
    }

    /// The value decoded as UTF-8, when it is present and valid.
    public var stringValue: String? {
        value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}

extension Array where Element == KafkaHeader {
    /// The value of the last header with this key (Kafka's usual "last wins" reading).
    public func last(named key: String) -> KafkaHeader? {
        self.last(where: { $0.key == key })
    }
}
