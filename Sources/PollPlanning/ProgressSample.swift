/// One `progress` the provider reported for a pending task, and when.
public struct ProgressSample: Sendable, Hashable {
    /// Time since the task was created.
    public var elapsed: Duration
    /// 1...99 (0 and 100 say nothing about the time left).
    public var progress: Int

    public init(elapsed: Duration, progress: Int) {
        self.elapsed = elapsed
        self.progress = progress
    }

    /// The duration the task has if its progress grows linearly from its create:
    /// elapsed x 100 / progress.
    public var linearCompletion: Duration { elapsed * (100 / Double(progress)) }
}
