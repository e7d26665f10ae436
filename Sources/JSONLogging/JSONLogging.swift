public import Logging

/// Sets up JSON lines on stderr as the process's log output.
public enum JSONLogging {
    /// Bootstraps swift-log once per process and returns the root logger.
    public static func bootstrap(level: String, label: String = "ocr") -> Logger {
        let level = Logger.Level(rawValue: level.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
