import Kafka
import Testing

@Suite struct SecretPropertyTests {
    @Test("every librdkafka secret is a secret, whether written as a property or as OCR_KAFKA_*")
    func librdkafkaSecrets() {
        for name in [
            "ssl.key.pem", "ssl_key_pem", "ssl.key.password", "sasl.password", "sasl.oauthbearer.client.secret",
            "ssl.keystore.password", "sasl.oauthbearer.config", "sasl.jaas.config", "ssl.key.location.password",
            "OCR_KAFKA_SSL_KEY_PEM", "OCR_KAFKA_SASL_PASSWORD", "OCR_KAFKA_SSL_KEY_PASSWORD",
            "OCR_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET", "OCR_KAFKA_SASL_OAUTHBEARER_CONFIG", "OCR_PROVIDER_API_KEY",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OCR_LEDGER_PASSWORD", "PGPASSWORD", "api-key", "private_key",
        ] {
            #expect(KafkaClientConfiguration.isSecret(property: name), "\(name)")
        }
        for name in ["bootstrap.servers", "security.protocol", "sasl.username", "ssl.ca.location", "client.id", "OCR_JOBS_TOPIC", "OCR_PROVIDER_URL"]
        {
            #expect(!KafkaClientConfiguration.isSecret(property: name), "\(name)")
        }
    }
}
