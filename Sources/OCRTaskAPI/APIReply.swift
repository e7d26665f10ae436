import Foundation

/// The reply envelope of every call: `{"status": 200, "message": "success", "data": {...}}`.
///
/// `status` mirrors the HTTP status (PicWish sends both); a reply whose HTTP status is 200
/// but whose `status` is not is treated by callers as that status. `data` is decoded
/// strictly only when `status` is 200: error replies carry `data` as `null`, `{}`, a string
/// or not at all, and none of that may hide the status and message. Unknown keys are
/// ignored.
public struct APIReply<Payload: Codable & Sendable>: Codable, Sendable {
    public var status: Int
    public var message: String?
    public var data: Payload?

    public init(status: Int, message: String? = nil, data: Payload? = nil) {
        self.status = status
        self.message = message
        self.data = data
    }

    /// A 200 reply carrying `data`.
    public static func success(_ data: Payload, message: String = "success") -> APIReply {
        APIReply(status: 200, message: message, data: data)
    }

    /// An error reply without `data`.
    public static func failure(status: Int, message: String) -> APIReply {
        APIReply(status: status, message: message, data: nil)
    }

    private enum CodingKeys: String, CodingKey {
        case status, message, data
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decodeFlexibleInt(forKey: .status)
        message = container.decodeLenientString(forKey: .message)
        if status == 200 {
            data = try container.decodeIfPresent(Payload.self, forKey: .data)
        } else {
            data = try? container.decodeIfPresent(Payload.self, forKey: .data)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encodeIfPresent(data, forKey: .data)
    }
}

extension APIReply: Equatable where Payload: Equatable {}
