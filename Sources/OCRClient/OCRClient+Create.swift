import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import OCRTaskAPI
import _NIOFileSystem

extension OCRClient {
    /// How a create will send its source, decided once before the first attempt.
    enum CreatePlan: Sendable {
        case passURL(DocumentURL)
        case file(path: String, size: Int64, filename: String, contentType: String)
        case downloadAndUpload(DocumentURL)
    }

    /// Creates a task. Validates everything first (errors name the field), then sends
    /// exactly one source field: `image_url`, or `image_file` streamed from the file or
    /// from a download of the URL, per ``OCRClientConfiguration/sourcePolicy``.
    ///
    /// Retries transient failures; an ambiguous failure (the form was sent, the reply
    /// lost) is retried only if ``RetryPolicy/retryAmbiguousCreates`` allows it. A
    /// download-and-upload fetches the source again on each attempt.
    ///
    /// `sourcePolicy` overrides ``OCRClientConfiguration/sourcePolicy`` for this call: a
    /// worker retries a task whose provider could not fetch the URL (state -3) with
    /// `.upload`.
    public func createTask(source: DocumentSource, options: TaskOptions, sourcePolicy: SourcePolicy? = nil)
        async throws(OCRClientError) -> CreateTaskResult
    {
        let plan = try await makePlan(source, policy: sourcePolicy ?? configuration.sourcePolicy)
        let secrets = redactor.adding([options.password])
        let result = try await withRetries(endpoint: .create, taskID: nil) { attempt throws(OCRClientError) in
            switch plan {
            case .passURL(let url):
                return try await createFromURL(url, options: options, attempt: attempt, secrets: secrets)
            case .file(let path, let size, let filename, let contentType):
                return try await createFromFile(
                    path: path, size: size, filename: filename, contentType: contentType, options: options,
                    attempt: attempt, secrets: secrets)
            case .downloadAndUpload(let url):
                return try await createFromDownload(url, options: options, attempt: attempt, secrets: secrets)
            }
        }
        logger.debug(
            "task created",
            metadata: [
                "task_id": "\(result.taskID)", "source_mode": "\(result.sourceMode.rawValue)",
                "attempts": "\(result.attempts)", "uploaded_bytes": "\(result.uploadedBytes)",
            ])
        return result
    }

    /// Who fetches a web document: the provider (`image_url`) when the policy allows and it
    /// can, else the client, which uploads the bytes.
    private func plan(for url: DocumentURL, policy: SourcePolicy) throws(OCRClientError) -> CreatePlan {
        let violation = url.imageURLViolation(allowingNonPublicHosts: configuration.allowNonPublicImageURLs)
        switch policy {
        case .upload:
            return .downloadAndUpload(url)
        case .passURL:
            if let violation { throw OCRClientError(violation) }
            return .passURL(url)
        case .auto:
            return violation == nil ? .passURL(url) : .downloadAndUpload(url)
        }
    }

    func makePlan(_ source: DocumentSource, policy: SourcePolicy) async throws(OCRClientError) -> CreatePlan {
        switch source {
        case .url(let text):
            let url: DocumentURL
            do { url = try DocumentURL(text) } catch { throw OCRClientError(error) }
            return try plan(for: url, policy: policy)
        case .checkedURL(let url):
            return try plan(for: url, policy: policy)
        case .file(let path, let filename, let contentType):
            let name = filename ?? FilePath(path).lastComponent?.string ?? "document"
            let info: FileInfo?
            do {
                info = try await FileSystem.shared.info(forFileAt: FilePath(path), infoAboutSymbolicLink: false)
            } catch {
                throw OCRClientError(
                    code: .fileUnreadable, field: TaskAPI.Field.imageFile, reason: "cannot stat \(name)")
            }
            guard let info, info.type == .regular else {
                throw OCRClientError(
                    code: .fileUnreadable, field: TaskAPI.Field.imageFile, reason: "\(name) is not a regular file")
            }
            guard info.size > 0 else {
                throw OCRClientError(code: .invalidRequest, field: TaskAPI.Field.imageFile, reason: "\(name) is empty")
            }
            guard info.size <= configuration.maxDocumentBytes else {
                throw OCRClientError(
                    code: .documentTooLarge, field: TaskAPI.Field.imageFile,
                    reason: "\(name) is \(info.size) bytes, the limit is \(configuration.maxDocumentBytes)")
            }
            return .file(
                path: path, size: info.size, filename: Self.safeFilename(name),
                contentType: contentType ?? Self.contentType(forFilename: name))
        }
    }

    private func createRequest(contentType: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: apiURL(TaskAPI.createPath))
        request.method = .POST
        addCommonHeaders(&request, withKey: true)
        request.headers.replaceOrAdd(name: "Content-Type", value: contentType)
        return request
    }

    private func createFromURL(
        _ url: DocumentURL, options: TaskOptions, attempt: Int, secrets: SecretRedactor
    ) async throws(OCRClientError) -> CreateTaskResult {
        let form = MultipartFraming.textForm(
            fields: [(name: TaskAPI.Field.imageURL, value: url.absoluteString)] + options.formFields)
        var headers = apiHeaders
        headers.add(name: "Content-Type", value: form.contentType)
        try await acquire(.newTask)
        let reply = try await exchangeBuffered(
            method: .POST, url: apiURL(TaskAPI.createPath), headers: headers, body: form.body,
            endpoint: .create, taskID: nil, attempt: attempt, secrets: secrets)
        let created = try decodeReply(reply, as: CreatedTask.self, endpoint: .create, taskID: nil, secrets: secrets)
        return CreateTaskResult(taskID: created.taskID, sourceMode: .url, attempts: attempt, uploadedBytes: 0)
    }

    private func createFromFile(
        path: String, size: Int64, filename: String, contentType: String, options: TaskOptions, attempt: Int,
        secrets: SecretRedactor
    ) async throws(OCRClientError) -> CreateTaskResult {
        let framing = MultipartFraming(
            fields: options.formFields, fileField: TaskAPI.Field.imageFile, filename: filename,
            contentType: contentType)
        do {
            return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                let body = MultipartBody(
                    framing: framing, content: handle.readChunks(in: 0..<size, chunkLength: .kibibytes(256)),
                    maxContentBytes: configuration.maxDocumentBytes, expectedContentBytes: size)
                var request = createRequest(contentType: framing.contentType)
                request.body = .stream(body, length: .known(framing.bodyLength(fileLength: size)))
                try await acquire(.newTask)
                let reply = try await exchange(
                    request, endpoint: .create, taskID: nil, attempt: attempt,
                    deadline: configuration.transferTimeout, secrets: secrets)
                let created = try decodeReply(
                    reply, as: CreatedTask.self, endpoint: .create, taskID: nil, secrets: secrets)
                return CreateTaskResult(taskID: created.taskID, sourceMode: .file, attempts: attempt, uploadedBytes: size)
            }
        } catch {
            throw transportError(error, endpoint: .create, taskID: nil, secrets: secrets)
        }
    }

    /// Streams the document at `url` into the create form as it downloads. The download
    /// goes through the SSRF guard (``OCRClient/fetch(_:endpoint:secrets:deadline:_:)``);
    /// the upload happens inside it, both within ``OCRClientConfiguration/transferTimeout``.
    private func createFromDownload(
        _ url: DocumentURL, options: TaskOptions, attempt: Int, secrets: SecretRedactor
    ) async throws(OCRClientError) -> CreateTaskResult {
        let deadline = NIODeadline.now() + Self.timeAmount(configuration.transferTimeout)
        do {
            return try await fetch(url, endpoint: .sourceFetch, secrets: secrets, deadline: deadline) {
                [self] response, _ in
                try await upload(response, of: url, options: options, attempt: attempt, secrets: secrets)
            }
        } catch  where error.code == .transport && error.transport == .readTimeout && NIODeadline.now() >= deadline {
            // Out of time with the form possibly sent: an ambiguous create, as before.
            var timedOut = error
            timedOut.endpoint = .create
            throw timedOut
        }
    }

    private func upload(
        _ response: HTTPClientResponse, of url: DocumentURL, options: TaskOptions, attempt: Int,
        secrets: SecretRedactor
    ) async throws(OCRClientError) -> CreateTaskResult {
        let (length, filename, contentType) = try sourceReply(response, of: url)
        let framing = MultipartFraming(
            fields: options.formFields, fileField: TaskAPI.Field.imageFile, filename: filename,
            contentType: contentType)
        let counter = ByteCounter()
        let body = MultipartBody(
            framing: framing, content: response.body.counted(by: counter),
            maxContentBytes: configuration.maxDocumentBytes, expectedContentBytes: length)
        var request = createRequest(contentType: framing.contentType)
        request.body = .stream(body, length: length.map { .known(framing.bodyLength(fileLength: $0)) } ?? .unknown)
        try await acquire(.newTask)
        let reply = try await exchange(
            request, endpoint: .create, taskID: nil, attempt: attempt, deadline: configuration.transferTimeout,
            secrets: secrets)
        let created = try decodeReply(reply, as: CreatedTask.self, endpoint: .create, taskID: nil, secrets: secrets)
        return CreateTaskResult(
            taskID: created.taskID, sourceMode: .downloadAndUpload, attempts: attempt, uploadedBytes: counter.value)
    }

    /// What a document's reply must be to be uploaded, whether it streams into a create or
    /// into a file first: HTTP 200, a declared length within the document limit; and the
    /// name and media type its upload carries (the declared type, else one from the name).
    func sourceReply(_ response: HTTPClientResponse, of url: DocumentURL) throws(OCRClientError)
        -> (length: Int64?, filename: String, contentType: String)
    {
        let status = Int(response.status.code)
        guard status == 200 else {
            throw OCRClientError(
                code: .httpStatus, endpoint: .sourceFetch, status: status,
                retryAfter: response.headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) },
                reason: "fetching the document \(url) answered HTTP \(status)")
        }
        let length = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
        if let length, length > configuration.maxDocumentBytes {
            throw OCRClientError(
                code: .documentTooLarge, endpoint: .sourceFetch, field: TaskAPI.Field.imageURL,
                reason: "the document is \(length) bytes, the limit is \(configuration.maxDocumentBytes)")
        }
        let filename = Self.safeFilename(url.url.lastPathComponent)
        // `first`, not `[0]`: a value of only ";" splits into nothing.
        let declaredType = response.headers.first(name: "Content-Type")
            .map { ($0.split(separator: ";").first.map(String.init) ?? "").trimmingCharacters(in: .whitespaces) }
        let contentType =
            declaredType.flatMap { $0.isEmpty || $0 == "application/octet-stream" ? nil : $0 }
            ?? Self.contentType(forFilename: filename)
        return (length, filename, contentType)
    }

    /// A file name safe for a form header: the last path component, percent-decoded,
    /// without control characters, at most 200 characters; `document` if nothing is left.
    static func safeFilename(_ raw: String) -> String {
        let decoded = raw.removingPercentEncoding ?? raw
        let cleaned = String(
            decoded.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) && $0 != "/" && $0 != "\\" }
        )
        .trimmingCharacters(in: .whitespaces)
        let short = String(cleaned.suffix(200))
        return short.isEmpty || short == "." || short == ".." ? "document" : short
    }

    /// A MIME type from a file name's extension (the provider's documented inputs).
    static func contentType(forFilename name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "pdf": "application/pdf"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "bmp": "image/bmp"
        case "doc": "application/msword"
        case "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case "xls": "application/vnd.ms-excel"
        case "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case "ppt": "application/vnd.ms-powerpoint"
        case "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        default: "application/octet-stream"
        }
    }
}
