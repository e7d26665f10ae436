import Foundation

/// Sleeps a job until an instant: ``PollScheduler`` (one timer for all jobs) in the
/// worker, a test clock that jumps to the instant in unit tests.
public protocol JobTimer: Sendable {
    func wait(until due: ContinuousClock.Instant) async throws
    /// The clock's current instant and wall-clock date.
    func now() -> JobMachine.Now
}

extension PollScheduler: JobTimer {
    public func now() -> JobMachine.Now { .init(instant: .now, date: .init()) }
}
