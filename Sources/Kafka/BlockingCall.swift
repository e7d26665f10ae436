import Dispatch

/// Runs blocking librdkafka calls (synchronous commits, flush, transaction calls, admin
/// requests) on threads of their own, never on Swift's cooperative pool, whose few
/// threads a blocked C call would starve.
enum BlockingCall {
    private static let queue = DispatchQueue(label: "ocr-worker.kafka.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
