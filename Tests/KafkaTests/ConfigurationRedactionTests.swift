import Foundation
import Kafka
import Testing

@Suite struct ConfigurationRedactionTests {
    @Test("secret names are redacted whole; other values keep all but URL secrets")
    func redacts() {
        let settings = [
            "OCR_KAFKA_SSL_KEY_PEM": "-----BEGIN PRIVATE KEY-----abc", "OCR_KAFKA_SASL_PASSWORD": "pw1",
            "OCR_PROVIDER_API_KEY": "key1", "AWS_SECRET_ACCESS_KEY": "aws1",
            "OCR_LEDGER_URL": "postgres://ocr:pg%40pw@db:5432/ocr?sslmode=require",
            "OCR_RESULT_STORE_URL": "s3://AKIA:s3secret@bucket/p?endpoint=http://h&secret_access_key=qs1&region=x",
            "OCR_PROVIDER_URL": "https://user:urlpw@provider/api?X-Amz-Signature=sig1&page=2",
            "OCR_JOBS_TOPIC": "ocr.jobs", "sasl.oauthbearer.config": "clientSecret=oc1",
        ]
        let printed = ConfigurationRedaction.redact(settings)
        let text = printed.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
        for secret in ["abc", "pw1", "key1", "aws1", "pg%40pw", "pg@pw", "s3secret", "qs1", "urlpw", "sig1", "oc1"] {
            #expect(!text.contains(secret), "\(secret) leaked: \(text)")
        }
        let values = Dictionary(uniqueKeysWithValues: printed.map { ($0.name, $0.value) })
        #expect(values["OCR_KAFKA_SSL_KEY_PEM"] == "[redacted]")
        #expect(values["OCR_LEDGER_URL"] == "postgres://ocr:***@db:5432/ocr?sslmode=require")
        #expect(values["OCR_JOBS_TOPIC"] == "ocr.jobs")
        #expect(values["OCR_PROVIDER_URL"]?.contains("page=2") == true)
        #expect(printed.map(\.name) == settings.keys.sorted())
    }

    @Test("values that are not URLs pass; a URL-like value with userinfo never shows its password")
    func nonURLs() {
        #expect(ConfigurationRedaction.redactingURLSecrets("127.0.0.1:9092,b:9093") == "127.0.0.1:9092,b:9093")
        #expect(ConfigurationRedaction.redactingURLSecrets("https://h/p") == "https://h/p")
        #expect(!ConfigurationRedaction.redactingURLSecrets("postgres://u:p w@h/d").contains("p w"))
        #expect(ConfigurationRedaction.redactingURLSecrets("postgres://u:p\u{0}w@[h/d") == "[redacted]")
    }

    @Test("record timestamps: any Int64 is held exactly, negative means none")
    func recordTimestamps() {
        let max = KafkaConsumerMessage.timestamp(milliseconds: .max, type: .createTime)
        #expect(max?.milliseconds == .max)
        #expect(max?.type == .createTime)
        #expect(KafkaConsumerMessage.timestamp(milliseconds: -1, type: .createTime) == nil)
        #expect(KafkaConsumerMessage.timestamp(milliseconds: .min, type: .logAppendTime) == nil)
        #expect(KafkaConsumerMessage.timestamp(milliseconds: 5, type: nil) == nil)
        let message = KafkaConsumerMessage(
            topic: "t", partition: 0, offset: 0, key: nil, value: nil, timestamp: max?.date, timestampType: .createTime,
            timestampMilliseconds: .max)
        #expect(message.timestampMilliseconds == .max)
    }
}
