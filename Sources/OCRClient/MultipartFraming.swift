import Foundation
import HexEncoding
import NIOCore
import OCRTaskAPI

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
        let boundary = Self.makeBoundary(avoiding: fields)
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

    /// A random boundary that occurs in no field value. A random boundary in a value is
    /// astronomically unlikely; checking costs a byte scan of the longer values.
    fileprivate static func makeBoundary(avoiding fields: [(name: String, value: String)]) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let random = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let boundary = "ocr-worker-" + Hex.lowercase(random)
            if !fields.contains(where: { occurs(boundary, in: $0.value) }) { return boundary }
        }
    }

    private static func occurs(_ needle: String, in text: String) -> Bool {
        let needle = Array(needle.utf8)
        let text = Array(text.utf8)
        guard text.count >= needle.count else { return false }
        for start in 0...(text.count - needle.count) where text[start] == needle[0] {
            if text[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    /// Percent-encodes `"`, CR and LF as browsers do (WHATWG form encoding).
    fileprivate static func quoted(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") })
        else { return text }
        return text.replacingOccurrences(of: "\"", with: "%22")
            .replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }
}

extension MultipartFraming {
    /// A complete form of text fields only (a create by `image_url`): small, so built in
    /// memory. Returns the `Content-Type` and the body.
    static func textForm(fields: [(name: String, value: String)]) -> (contentType: String, body: ByteBuffer) {
        let boundary = makeBoundary(avoiding: fields)
        var body = ByteBuffer()
        for field in fields {
            body.writeString("--\(boundary)\r\n")
            body.writeString("Content-Disposition: form-data; name=\"\(quoted(field.name))\"\r\n\r\n")
            body.writeString(field.value)
            body.writeString("\r\n")
        }
        body.writeString("--\(boundary)--\r\n")
        return ("multipart/form-data; boundary=\(boundary)", body)
    }
}
