import Foundation
public import JobCore
import Kafka
import Ledger
public import Logging

/// The one retry policy for our own dependencies (ledger, broker, result store).
///
/// An outage of our own infrastructure delays jobs; it never fails or dead-letters them.
/// Calls are retried with exponential backoff from `firstDelay` up to 30 s, on the job
/// timer (so a test clock drives it). Three kinds of error are not retried:
/// - answers: a refused ledger transition or an unknown job goes back to the caller;
/// - permanent failures: a record too large for the broker, a topic we are not
///   authorized to write, a fatal producer error; thrown at once as
///   ``PermanentDependencyFailure``, so the caller can dead-letter a stub or report the
///   pod unhealthy instead of retrying forever;
/// - an unknown topic, once it has lasted ``unknownTopicDeadline`` (a topic being created
///   shows up within seconds; one deleted or misnamed never does). Sends take it from
///   ``JobSettings/unknownTopicDeadline`` (`OCR_UNKNOWN_TOPIC_DEADLINE_SECONDS`).
public struct DependencyRetry: Sendable {
    public var firstDelay: Duration
    public var maxDelay: Duration = .seconds(30)
    public var unknownTopicDeadline: Duration = .seconds(120)
    let timer: any JobTimer

    public init(firstDelay: Duration, timer: any JobTimer) {
        self.firstDelay = firstDelay
        self.timer = timer
    }

    enum Verdict: Equatable {
        case answer
        case transient
        case permanent(PermanentDependencyFailure.Kind)
        case permanentAfterDeadline(PermanentDependencyFailure.Kind)
    }

    static func verdict(_ error: any Error) -> Verdict {
        if let error = error as? LedgerError {
            return error.code == .invalidTransition || error.code == .notFound ? .answer : .transient
        }
        if let error = error as? KafkaError {
            if error.isFatal { return .permanent(.fatal) }
            if error.isMessageTooLarge { return .permanent(.tooLarge) }
            if error.isAuthorizationFailure { return .permanent(.unwritable) }
            if error.isUnknownTopic { return .permanentAfterDeadline(.unwritable) }
        }
        return .transient
    }

    /// Runs `body` until it succeeds, an answer or a permanent failure comes back, or the
    /// job is cancelled.
    public func run<T: Sendable>(_ what: String, _ logger: Logger, _ body: @Sendable () async throws -> T) async throws -> T {
        var delay = firstDelay
        let start = timer.now().instant
        while true {
            do {
                return try await body()
            } catch {
                switch Self.verdict(error) {
                case .answer:
                    throw error
                case .permanent(let kind):
                    throw PermanentDependencyFailure(kind: kind, what: what, underlying: "\(error)")
                case .permanentAfterDeadline(let kind) where timer.now().instant - start > unknownTopicDeadline:
                    throw PermanentDependencyFailure(kind: kind, what: what, underlying: "\(error)")
                case .permanentAfterDeadline, .transient:
                    break
                }
                try Task.checkCancellation()
                logger.warning("\(what) failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try await timer.wait(until: timer.now().instant + delay)
                delay = min(delay * 2, maxDelay)
            }
        }
    }

    /// Like ``run(_:_:_:)``, but neither stopped by cancellation nor by time: for a write
    /// whose loss costs more than waiting (the task id right after a create, which a pod
    /// that does not crash must never lose). Only an answer (a refused transition) ends
    /// it without storing.
    public func untilStored<T: Sendable>(
        _ what: String, _ logger: Logger, _ body: @Sendable () async throws -> T
    ) async throws -> T {
        var delay = firstDelay
        while true {
            do {
                return try await body()
            } catch {
                if Self.verdict(error) == .answer { throw error }
                logger.warning("\(what) failed; retrying until it is stored", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                // Not the job timer: it is cancelled with the job, and this write must outlive that.
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, maxDelay)
            }
        }
    }
}

/// A call to our own infrastructure that can never succeed as it is.
public struct PermanentDependencyFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The record is larger than the broker accepts (`message.max.bytes`).
        case tooLarge = "too_large"
        /// The topic does not exist (past the deadline) or we may not write it.
        case unwritable
        /// The producer is unusable (a fatal idempotent-producer error): the process must
        /// restart it.
        case fatal
    }

    public var kind: Kind
    public var what: String
    public var underlying: String

    public var description: String { "\(what) failed permanently (\(kind.rawValue)): \(underlying)" }
}
