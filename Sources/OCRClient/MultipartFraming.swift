import Foundation
import NIOCore

/// The bytes around a streamed file in a `multipart/form-data` body (RFC 7578): text
/// fields first, then the file part's header (``head``), then the file's bytes, then
/// ``tail``. The file part is last so its bytes can stream without knowing anything
/// after them, and the total length is known whenever the file's length is.
struct MultipartFraming: Sendable {
    let boundary: String
    let head: ByteBuffer
    let tail: ByteBuffer

    /// - Parameters:
    ///   - fields: text fields in order (name, value). Values are sent as UTF-8.
    ///   - fileField: the file part's field name (`image_file`).
    ///   - filename: the file name; quotes and line breaks are replaced, so it cannot break
    ///     the header.
    init(fields: [(name: String, value: String)], fileField: String, filename: String, contentType: String) {
        var boundary = Self.makeBoundary()
        // A random boundary in a value is astronomically unlikely; checking costs nothing.
        while fields.contains(where: { $0.value.contains(boundary) }) { boundary = Self.makeBoundary() }
        self.boundary = boundary
        var head = ""
        for field in fields {
            head += "--\(boundary)\r\n"
            head += "Content-Disposition: form-data; name=\"\(Self.quoted(field.name))\"\r\n\r\n"
            head += field.value + "\r\n"
        }
        head += "--\(boundary)\r\n"
        head += "Content-Disposition: form-data; name=\"\(Self.quoted(fileField))\"; filename=\"\(Self.quoted(filename))\"\r\n"
        head += "Content-Type: \(contentType.filter { $0 != "\r" && $0 != "\n" })\r\n\r\n"
        self.head = ByteBuffer(string: head)
        tail = ByteBuffer(string: "\r\n--\(boundary)--\r\n")
    }

    /// The request's `Content-Type` header value.
    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// Total body length for a file of `fileLength` bytes.
    func bodyLength(fileLength: Int64) -> Int64 {
        Int64(head.readableBytes) + fileLength + Int64(tail.readableBytes)
    }

    private static func makeBoundary() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<24).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
        return "ocr-worker-" + hex
    }

    /// Percent-encodes `"`, CR and LF as browsers do (WHATWG form encoding).
    fileprivate static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\"", with: "%22")
            .replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }
}

extension MultipartFraming {
    /// A complete form of text fields only (a create by `image_url`): small, so built in
    /// memory. Returns the `Content-Type` and the body.
    static func textForm(fields: [(name: String, value: String)]) -> (contentType: String, body: ByteBuffer) {
        let framing = MultipartFraming(fields: fields, fileField: "", filename: "", contentType: "")
        var body = ByteBuffer()
        for field in fields {
            body.writeString("--\(framing.boundary)\r\n")
            body.writeString("Content-Disposition: form-data; name=\"\(quoted(field.name))\"\r\n\r\n")
            body.writeString(field.value + "\r\n")
        }
        body.writeString("--\(framing.boundary)--\r\n")
        return (framing.contentType, body)
    }
}
