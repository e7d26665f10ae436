import Foundation

/// `data` of a successful create: `{"task_id": "..."}`. Extra keys are ignored.
public struct CreatedTask: Codable, Sendable, Hashable {
    public var taskID: String

    public init(taskID: String) { self.taskID = taskID }

    private enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let id = container.decodeLenientString(forKey: .taskID), !id.isEmpty else {
            throw DecodingError.dataCorruptedError(
                forKey: .taskID, in: container, debugDescription: "task_id is missing or empty")
        }
        taskID = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(taskID, forKey: .taskID)
    }
}
