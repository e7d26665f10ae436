import Foundation
import Logging
import OCRClient
import Synchronization
import Testing

/// Everything the tests log, kept for the search for secrets.
final class LogStore: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }

    func logger(_ label: String = "ocr-client-test") -> Logger {
        var logger = Logger(label: label) { label in RecordingLogHandler(label: label, store: self) }
        logger.logLevel = .trace
        return logger
    }
}

/// A swift-log handler that records every message with its metadata, at every level.
struct RecordingLogHandler: LogHandler {
    let label: String
    let store: LogStore
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        store.append("\(event.level) \(label) \(event.message) \(all) \(event.source) \(event.function)")
    }
}

/// Samples the process's resident set size (`VmRSS` of /proc/self/status) while running.
final class MemorySampler: Sendable {
    private let peak = Mutex<Int64>(0)
    private let task = Mutex<Task<Void, Never>?>(nil)

    static func residentKiB(_ field: String = "VmRSS") -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    func start() {
        peak.withLock { $0 = Self.residentKiB() }
        let sampler = Task.detached {
            while !Task.isCancelled {
                let now = Self.residentKiB()
                self.peak.withLock { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        task.withLock { $0 = sampler }
    }

    /// Stops sampling; returns the peak in KiB.
    func stop() async -> Int64 {
        let sampler = task.withLock { $0 }
        sampler?.cancel()
        await sampler?.value
        let now = Self.residentKiB()
        return peak.withLock { max($0, now) }
    }
}
