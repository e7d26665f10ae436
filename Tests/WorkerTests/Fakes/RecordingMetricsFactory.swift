import Metrics
import Synchronization

/// A metrics backend that keeps what was recorded, by label, for tests that pass it to
/// the code under test (the global bootstrap is left alone): counters' totals and each
/// recorder's last value.
final class RecordingMetricsFactory: MetricsFactory {
    final class Handler: CounterHandler, RecorderHandler, TimerHandler {
        let total = Mutex<Int64>(0)
        let last = Mutex<Double?>(nil)

        func increment(by amount: Int64) { total.withLock { $0 += amount } }
        func reset() { total.withLock { $0 = 0 } }
        func record(_ value: Int64) { record(Double(value)) }
        func record(_ value: Double) { last.withLock { $0 = value } }
        func recordNanoseconds(_ duration: Int64) { record(duration) }
    }

    private let handlers = Mutex<[String: Handler]>([:])

    private func handler(_ label: String) -> Handler {
        handlers.withLock { handlers in
            if let known = handlers[label] { return known }
            let made = Handler()
            handlers[label] = made
            return made
        }
    }

    /// A counter's total (0: never incremented).
    func counter(_ label: String) -> Int64 { handlers.withLock { $0[label] }?.total.withLock { $0 } ?? 0 }
    /// A gauge's last value (nil: never recorded).
    func gauge(_ label: String) -> Double? { handlers.withLock { $0[label] }?.last.withLock { $0 } }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { handler(label) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { handler(label) }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { handler(label) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
