import Kafka
import Testing

/// The produce failures that repeating cannot fix, told from librdkafka's codes (rdkafka.h):
/// callers decide on these properties, never on the numbers.
@Suite struct KafkaErrorClassificationTests {
    static func error(_ code: Int32) -> KafkaError {
        KafkaError(code: .init(rawValue: code), message: "test", operation: "produce to t")
    }

    @Test("message too large: MSG_SIZE_TOO_LARGE (10), local or remote; not _ASSIGN_PARTITIONS (-175), a rebalance event")
    func tooLarge() {
        #expect(Self.error(10).isMessageTooLarge)
        #expect(!Self.error(-175).isMessageTooLarge)
        #expect(!Self.error(-185).isMessageTooLarge, "_TIMED_OUT is not")
    }

    @Test("authorization: TOPIC_AUTHORIZATION_FAILED (29) and CLUSTER_AUTHORIZATION_FAILED (31)")
    func authorization() {
        #expect(Self.error(29).isAuthorizationFailure)
        #expect(Self.error(31).isAuthorizationFailure)
        #expect(!Self.error(30).isAuthorizationFailure, "GROUP_AUTHORIZATION_FAILED is a consumer's")
    }

    @Test("unknown topic: UNKNOWN_TOPIC_OR_PART (3) and the local _UNKNOWN_TOPIC (-188)")
    func unknownTopic() {
        #expect(Self.error(3).isUnknownTopic)
        #expect(Self.error(-188).isUnknownTopic)
        #expect(!Self.error(-195).isUnknownTopic, "_TRANSPORT is not")
    }
}
