package import Metrics

extension Timer {
    /// Records a `Duration` (this swift-metrics version takes integer nanoseconds only).
    /// Package-wide, so every module's timers convert the same way.
    package func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
