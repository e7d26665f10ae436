import Foundation
import MultipartKit
import NIOCore
import NIOPosix
import OCRTaskAPI

/// A create form as it arrived: text fields in memory, the document streamed to disk.
struct ReceivedForm {
    var fields: [String: String] = [:]
    /// Names of the parts that carried file bytes (`image_file`, `file`).
    var fileFieldNames: [String] = []
    /// Where the document was written, and its size.
    var filePath: URL?
    var fileBytes: Int64 = 0
}

/// Why a form could not be read.
enum FormError: Error {
    /// Over the size limit: answer 413 right away.
    case tooLarge(String)
    /// Malformed: 400.
    case invalid(String)
}

/// Reads a create request body as it streams in: multipart/form-data (the document part
/// goes to `destination` in batches written off the cooperative pool) or
/// application/x-www-form-urlencoded (fields only). Counts every byte and stops with
/// ``FormError/tooLarge(_:)`` the moment the document or the body exceeds its limit, so a
/// 413 is sent while the client is still uploading.
struct FormReader {
    static let fileFields: Set<String> = [TaskAPI.Field.imageFile, TaskAPI.Field.file]
    static let maxFieldBytes = 64 * 1024
    static let maxFieldsBytes = 1024 * 1024
    static let writeBatch = 1024 * 1024

    let maxDocumentBytes: Int64

    /// The total body may exceed the document by the form's own overhead.
    var maxBodyBytes: Int64 { maxDocumentBytes + Int64(Self.maxFieldsBytes) }

    func read<Body: AsyncSequence>(
        contentType: String?, body: Body, destination: URL
    ) async throws -> ReceivedForm where Body.Element == ByteBuffer {
        let type = (contentType ?? "").lowercased()
        if type.hasPrefix("multipart/form-data") {
            guard let boundary = Self.parameter("boundary", in: contentType ?? "") else {
                throw FormError.invalid("multipart/form-data without a boundary")
            }
            return try await readMultipart(boundary: boundary, body: body, destination: destination)
        }
        if type.hasPrefix("application/x-www-form-urlencoded") {
            var data = Data()
            for try await buffer in body {
                data.append(contentsOf: buffer.readableBytesView)
                if data.count > Self.maxFieldsBytes { throw FormError.tooLarge("form fields exceed 1 MB") }
            }
            var form = ReceivedForm()
            var components = URLComponents()
            components.percentEncodedQuery = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "+", with: "%20")
            for item in components.queryItems ?? [] where form.fields[item.name] == nil {
                form.fields[item.name] = item.value ?? ""
            }
            return form
        }
        throw FormError.invalid("Content-Type must be multipart/form-data (or application/x-www-form-urlencoded for image_url)")
    }

    private func readMultipart<Body: AsyncSequence>(
        boundary: String, body: Body, destination: URL
    ) async throws -> ReceivedForm where Body.Element == ByteBuffer {
        let state = PartState()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in
            if name.lowercased() == "content-disposition" {
                state.currentName = Self.parameter("name", in: value) ?? ""
                state.currentIsFile = Self.fileFields.contains(state.currentName)
            }
        }
        parser.onBody = { buffer in
            if state.currentIsFile {
                state.fileBytes += Int64(buffer.readableBytes)
                state.pending.append(contentsOf: buffer.readableBytesView)
            } else {
                state.fieldBytes += buffer.readableBytes
                state.currentValue.append(contentsOf: buffer.readableBytesView)
            }
        }
        parser.onPartComplete = {
            if state.currentIsFile {
                state.fileParts.append(state.currentName)
            } else if state.form.fields[state.currentName] == nil {
                state.form.fields[state.currentName] = String(decoding: state.currentValue, as: UTF8.self)
            }
            state.currentName = ""
            state.currentIsFile = false
            state.currentValue = Data()
        }

        guard FileManager.default.createFile(atPath: destination.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw FormError.invalid("server could not create the upload file")
        }
        let file = try FileHandle(forWritingTo: destination)
        let writer = FileWriter(handle: file)
        defer { try? file.close() }
        var total: Int64 = 0
        for try await buffer in body {
            total += Int64(buffer.readableBytes)
            if total > maxBodyBytes {
                throw FormError.tooLarge("request body exceeds \(maxBodyBytes) bytes")
            }
            do {
                try parser.execute(buffer)
            } catch {
                throw FormError.invalid("malformed multipart body")
            }
            if state.fileBytes > maxDocumentBytes {
                throw FormError.tooLarge("document exceeds \(maxDocumentBytes) bytes")
            }
            if state.currentValue.count > Self.maxFieldBytes || state.fieldBytes > Self.maxFieldsBytes {
                throw FormError.tooLarge("form fields exceed their size limit")
            }
            if state.pending.count >= Self.writeBatch {
                try await writer.write(state.pending)
                state.pending = Data()
            }
        }
        if !state.pending.isEmpty { try await writer.write(state.pending) }
        var form = state.form
        form.fileFieldNames = state.fileParts
        if !state.fileParts.isEmpty {
            form.filePath = destination
            form.fileBytes = state.fileBytes
        }
        return form
    }

    /// A `key=value` or `key="value"` parameter of a header value.
    static func parameter(_ key: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let pieces = part.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2,
                pieces[0].trimmingCharacters(in: .whitespaces).lowercased() == key.lowercased()
            else { continue }
            var value = pieces[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
        return nil
    }

    private final class PartState {
        var form = ReceivedForm()
        var currentName = ""
        var currentIsFile = false
        var currentValue = Data()
        var fileParts: [String] = []
        var fileBytes: Int64 = 0
        var fieldBytes = 0
        var pending = Data()
    }
}

/// Appends to a file on NIO's blocking-IO thread pool, not on the cooperative pool.
struct FileWriter: @unchecked Sendable {
    let handle: FileHandle

    func write(_ data: Data) async throws {
        try await NIOThreadPool.singleton.runIfActive { [handle] in
            try handle.write(contentsOf: data)
        }
    }
}
