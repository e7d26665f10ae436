import Foundation

/// Where ocr-server keeps its task records.
public enum TaskDatabase: Sendable, Equatable {
    /// `tasks.sqlite` in the data directory (the default).
    case dataDirectory
    /// A SQLite file elsewhere.
    case file(String)
    /// In memory: a restart forgets every task (tests, throwaway servers).
    case inMemory

    /// From a flag's value: `:memory:`, a path, or nil/empty for the default.
    public init(argument: String?) {
        switch argument {
        case nil, "": self = .dataDirectory
        case ":memory:": self = .inMemory
        case let path?: self = .file(path)
        }
    }

    /// The SQLite file for a server whose data directory is `dataDirectory`; nil in memory.
    func path(dataDirectory: URL) -> String? {
        switch self {
        case .dataDirectory: dataDirectory.appendingPathComponent("tasks.sqlite").path
        case .file(let path): path
        case .inMemory: nil
        }
    }
}
