import Foundation

/// `data` of a task query.
///
/// Wire shape (snake_case keys; timestamps are Unix seconds as strings):
/// `{"task_id": "...", "state": 4, "progress": 40, "file": "https://...",
///   "created_at": "1700000000", "processed_at": "1700000001", "completed_at": "1700000005",
///   "state_detail": "..."}`.
///
/// Decoding requires `task_id` and `state` and is lenient with everything else: missing or
/// `null` optionals, numbers sent as strings and the reverse, and unknown keys are all
/// accepted. Encoding omits absent optionals and writes exactly the wire shape, so
/// ocr-server can serve this type as is.
public struct TaskRecord: Codable, Sendable, Hashable {
    public var taskID: String
    public var state: TaskState
    /// 0...100 (clamped on decode).
    public var progress: Int?
    /// The result URL; valid for one hour after completion. Contains a signature in its
    /// query: log it only through a redaction helper.
    public var file: String?
    public var createdAt: UnixTimestamp?
    public var processedAt: UnixTimestamp?
    public var completedAt: UnixTimestamp?
    /// Free text from the provider about the state (e.g. why it failed).
    public var stateDetail: String?

    public init(
        taskID: String, state: TaskState, progress: Int? = nil, file: String? = nil,
        createdAt: UnixTimestamp? = nil, processedAt: UnixTimestamp? = nil,
        completedAt: UnixTimestamp? = nil, stateDetail: String? = nil
    ) {
        self.taskID = taskID
        self.state = state
        self.progress = progress.map { min(100, max(0, $0)) }
        self.file = file
        self.createdAt = createdAt
        self.processedAt = processedAt
        self.completedAt = completedAt
        self.stateDetail = stateDetail
    }

    private enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case state, progress, file
        case createdAt = "created_at"
        case processedAt = "processed_at"
        case completedAt = "completed_at"
        case stateDetail = "state_detail"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let id = container.decodeLenientString(forKey: .taskID), !id.isEmpty else {
            throw DecodingError.dataCorruptedError(
                forKey: .taskID, in: container, debugDescription: "task_id is missing or empty")
        }
        taskID = id
        state = try container.decode(TaskState.self, forKey: .state)
        progress = container.decodeLenientInt(forKey: .progress).map { min(100, max(0, $0)) }
        let fileText = container.decodeLenientString(forKey: .file)
        file = (fileText?.isEmpty ?? true) ? nil : fileText
        createdAt = container.decodeLenientTimestamp(forKey: .createdAt)
        processedAt = container.decodeLenientTimestamp(forKey: .processedAt)
        completedAt = container.decodeLenientTimestamp(forKey: .completedAt)
        stateDetail = container.decodeLenientString(forKey: .stateDetail)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(taskID, forKey: .taskID)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(progress, forKey: .progress)
        try container.encodeIfPresent(file, forKey: .file)
        try container.encodeIfPresent(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(processedAt, forKey: .processedAt)
        try container.encodeIfPresent(completedAt, forKey: .completedAt)
        try container.encodeIfPresent(stateDetail, forKey: .stateDetail)
    }
}
