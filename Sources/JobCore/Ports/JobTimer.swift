/// Sleeps a job until an instant: the worker's `PollScheduler` (one timer for all jobs),
/// a test clock that jumps to the instant in unit tests.
public protocol JobTimer: Sendable {
    func wait(until due: ContinuousClock.Instant) async throws
    /// The clock's current instant and wall-clock date.
    func now() -> JobMachine.Now
}
