public import Testing

/// A wait that ran out of time; the issue is already recorded where the test waited.
public struct TimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every `every` until it holds; when `timeout` passes first, records an
/// issue at the caller and throws ``TimedOut``. The condition is checked once more at the
/// deadline, so a slow machine that got there just in time does not fail.
///
/// Waiting on a condition with a deadline is how tests here wait: never a bare sleep.
public func waitUntil(
    _ what: @autoclosure () -> String = "the condition",
    timeout: Duration = .seconds(10),
    every: Duration = .milliseconds(10),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: every)
    }
    if try await condition() { return }
    Issue.record("timed out after \(timeout) waiting until \(what())", sourceLocation: sourceLocation)
    throw TimedOut(description: "timed out after \(timeout) waiting until \(what())")
}

/// Runs `body` with a hard deadline: a hang fails the test (an issue at the caller and
/// ``TimedOut``) instead of stalling the run. `body` is cancelled when time runs out.
@discardableResult
public func withDeadline<T: Sendable>(
    _ timeout: Duration,
    _ what: String = "the operation",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            Issue.record("\(what) did not finish within \(timeout)", sourceLocation: sourceLocation)
            throw TimedOut(description: "\(what) did not finish within \(timeout)")
        }
        return value
    }
}
