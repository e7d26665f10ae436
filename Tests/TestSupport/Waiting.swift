import Deadlines
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
/// ``TimedOut``) instead of stalling the run. When time runs out `body` is cancelled and
/// left behind: a body that ignores cancellation (the very hang being tested for) must not
/// hold the test, so it runs in a task of its own (`Deadline.run`), not in a child the
/// caller would wait for. A caller cancelled first cancels `body` and throws
/// `CancellationError`.
@discardableResult
public func withDeadline<T: Sendable>(
    _ timeout: Duration,
    _ what: String = "the operation",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = try await Deadline.run(within: timeout) { _ in try await body() }
    guard let value = outcome else {
        Issue.record("\(what) did not finish within \(timeout)", sourceLocation: sourceLocation)
        throw TimedOut(description: "\(what) did not finish within \(timeout)")
    }
    return value
}
