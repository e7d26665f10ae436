/// Settings every librdkafka client shares, plus pass-through of any librdkafka property.
///
/// Typed settings cover what the worker relies on; ``properties`` carries everything else
/// unchanged (`security.protocol`, `sasl.*`, `ssl.*`, `debug`, ...), and wins over a typed
/// setting of the same name, so operators can always reach librdkafka directly.
public struct KafkaClientConfiguration: Sendable, Hashable {
    /// `host:port` pairs (`bootstrap.servers`).
    public var bootstrapServers: [String]
    /// `client.id`, shown in broker logs and quotas.
    public var clientID: String
    /// How often librdkafka emits its statistics JSON (`statistics.interval.ms`); nil
    /// disables it. Consumer lag figures come from these statistics.
    public var statisticsInterval: Duration?
    /// Any librdkafka property, passed unchanged.
    public var properties: [String: String]

    public init(
        bootstrapServers: [String],
        clientID: String = "ocr-worker",
        statisticsInterval: Duration? = nil,
        properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.statisticsInterval = statisticsInterval
        self.properties = properties
    }

    var librdkafkaProperties: [String: String] {
        var p: [String: String] = [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "client.id": clientID,
        ]
        if let statisticsInterval {
            p["statistics.interval.ms"] = String(statisticsInterval.milliseconds)
        }
        return p
    }

    /// Whether a setting's value is a secret that must never be printed: a librdkafka
    /// property (`sasl.password`, `ssl.key.pem`) or the same written as an environment
    /// name (`OCR_KAFKA_SSL_KEY_PEM`), or any other setting name. See
    /// ``ConfigurationRedaction/isSecret(name:)`` for the rule.
    public static func isSecret(property name: String) -> Bool {
        ConfigurationRedaction.isSecret(name: name)
    }

    /// Properties with secret values replaced, for logs and `check` output.
    public static func redacted(_ properties: [String: String]) -> [String: String] {
        properties.reduce(into: [:]) { out, kv in
            out[kv.key] = isSecret(property: kv.key) ? "[redacted]" : kv.value
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, as librdkafka's `*.ms` properties expect.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
