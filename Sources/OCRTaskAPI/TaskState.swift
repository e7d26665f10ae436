import Foundation

/// The provider's `data.state` of a task.
///
/// An open set over `Int`: the documented states are static members, and any other value
/// decodes too (the provider may add states), so a new state never breaks a poll. The
/// provider's convention, which ``isRunning`` and ``isTerminal`` follow for unknown values
/// as well: `1` is success, `0` queued, greater than `1` running, negative a failure.
public struct TaskState: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    /// Finished; `data.file` holds the result URL.
    public static let success = TaskState(1)
    /// Accepted, not started.
    public static let queued = TaskState(0)
    public static let preparing = TaskState(2)
    public static let waiting = TaskState(3)
    public static let processing = TaskState(4)
    public static let failed = TaskState(-1)
    /// The provider could not store the result.
    public static let resultUploadFailed = TaskState(-2)
    /// The provider could not download `image_url`.
    public static let sourceDownloadFailed = TaskState(-3)
    public static let tooLarge = TaskState(-5)
    public static let invalidFile = TaskState(-7)
    public static let processingTimeout = TaskState(-8)

    /// Every state the documentation lists.
    public static let documented: [TaskState] = [
        .success, .queued, .preparing, .waiting, .processing, .failed, .resultUploadFailed,
        .sourceDownloadFailed, .tooLarge, .invalidFile, .processingTimeout,
    ]

    /// Whether the state is one the documentation lists.
    public var isDocumented: Bool { Self.documented.contains(self) }

    /// Started and not finished (`> 1`, including unknown positive states).
    public var isRunning: Bool { rawValue > 1 }
    /// Queued or running: the task needs more polls.
    public var isPending: Bool { rawValue == 0 || rawValue > 1 }
    /// Success or any failure; polling it again will not change it.
    public var isTerminal: Bool { !isPending }
    /// A failure (negative), documented or not.
    public var isFailure: Bool { rawValue < 0 }

    public var name: String {
        switch rawValue {
        case 1: "success"
        case 0: "queued"
        case 2: "preparing"
        case 3: "waiting"
        case 4: "processing"
        case -1: "failed"
        case -2: "result_upload_failed"
        case -3: "source_download_failed"
        case -5: "too_large"
        case -7: "invalid_file"
        case -8: "processing_timeout"
        default: "unknown"
        }
    }

    public var description: String { "\(rawValue) (\(name))" }

    /// Decodes a JSON number, or a string holding an integer (tolerated: some gateways
    /// stringify numbers).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            rawValue = value
        } else if let text = try? container.decode(String.self),
            let value = Int(text.trimmingCharacters(in: .whitespaces))
        {
            rawValue = value
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "task state is neither an integer nor an integer string")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
