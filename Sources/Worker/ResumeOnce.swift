import Synchronization

/// A continuation that the first of several racing tasks resumes; later calls do nothing.
final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Value) {
        continuation.withLock { c in
            defer { c = nil }
            return c
        }?.resume(returning: value)
    }
}
