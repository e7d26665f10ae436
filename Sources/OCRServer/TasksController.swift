import Foundation
import Hummingbird
import OCREngine
import OCRTaskAPI

/// The task resource: create (`POST /api/tasks/document/ocr`, a multipart form) and query
/// (`GET /api/tasks/document/ocr/{task_id}`), both behind `X-API-KEY`. Refusals are thrown
/// as ``PicWishError``.
struct TasksController: Sendable {
    let core: ServerCore

    func addRoutes(to router: Router<ServerRequestContext>) {
        router.post(RouterPath(TaskAPI.createPath)) { request, context in
            try await create(request, context: context)
        }
        router.get("/api/tasks/document/ocr/:task_id") { request, context in
            try await query(request, context: context)
        }
    }

    // MARK: Create

    func create(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let key = try core.authorize(request)
        // Draining (SIGTERM): refused with the PicWish envelope, 503 and Retry-After, and
        // `/readyz` answers 503, so a load balancer stops sending here while queries and
        // downloads keep working until the drain ends.
        if core.draining.load(ordering: .relaxed) {
            throw PicWishError(
                .serviceUnavailable, "server is shutting down; create the task again in a moment",
                headers: [.retryAfter: "5", .connection: "close"])
        }
        let owner = core.keys.ownerID(of: key)
        let reader = FormReader(maxDocumentBytes: core.configuration.maxDocumentBytes)
        let tooLarge = "file too large: documents up to \(core.configuration.maxDocumentBytes / 1_048_576) MB are accepted"
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > reader.maxBodyBytes {
            throw PicWishError(.contentTooLarge, tooLarge, headers: [.connection: "close"])
        }
        // Admission, O(1) (counters, never a scan): a pending place, in the server's and
        // the key's limits, is reserved before the upload is read and handed to the task
        // once stored (a shared store checks again in the insert); then an upload slot of
        // the key.
        let refusal: TaskStore.Refusal?
        do {
            refusal = try await core.store.reserve(
                owner: owner, maxPending: core.configuration.maxPendingTasks,
                maxPendingPerOwner: core.configuration.maxPendingTasksPerKey)
        } catch {
            core.logger.error("task not created: the task store failed", metadata: ["reason": "\(error)"])
            throw PicWishError(.serviceUnavailable, "the server could not store the task; retry", headers: [.retryAfter: "5"])
        }
        if let refusal { throw refused(refusal) }
        var reserved = true
        defer { if reserved { core.store.cancelReservation(owner: owner) } }
        guard core.uploads.tryEnter(key) else {
            throw PicWishError(
                .tooManyRequests, "too many uploads in progress for this API key (limit \(core.uploads.limitPerKey))",
                headers: [.retryAfter: "1"])
        }
        defer { core.uploads.leave(key) }

        let id = UUID().uuidString.lowercased()
        let taskDirectory = core.uploadsDirectory.appendingPathComponent(id)
        func discard() { try? FileManager.default.removeItem(at: taskDirectory) }
        let form: ReceivedForm
        do {
            try FileManager.default.createDirectory(
                at: taskDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            form = try await reader.read(
                contentType: request.headers[.contentType], body: request.body,
                destination: taskDirectory.appendingPathComponent("upload"))
        } catch FormError.tooLarge(let detail) {
            discard()
            core.logger.info("upload rejected: too large", metadata: ["detail": "\(detail)"])
            throw PicWishError(.contentTooLarge, tooLarge, headers: [.connection: "close"])
        } catch FormError.invalid(let detail) {
            discard()
            throw PicWishError(.badRequest, detail)
        } catch {
            discard()
            throw PicWishError(.badRequest, "could not read the request body")
        }

        // Validation, as the real API does it (OCRTaskAPI holds the shared rules).
        let source: SourceFields.Kind
        let options: TaskOptions
        let selection: LanguageSelection
        let forceOCR: Bool
        do {
            forceOCR = try ForceOCRField.parse(form.fields[TaskAPI.Field.forceOCR])
            source = try SourceFields.resolve(
                imageURL: form.fields[TaskAPI.Field.imageURL], fileFieldNames: form.fileFieldNames)
            options = try TaskOptions(
                language: form.fields[TaskAPI.Field.language], password: form.fields[TaskAPI.Field.password],
                format: form.fields[TaskAPI.Field.format])
            if let format = form.fields[TaskAPI.Field.format], !format.isEmpty, OutputFormat(rawValue: format) == nil {
                // The real API is case-sensitive here: "PDF" is not a format.
                throw TaskRequestError(
                    code: .invalidFormat, field: TaskAPI.Field.format, reason: "must be one of txt, pdf, docx, xlsx, pptx")
            }
            if case .url(let url) = source, !core.configuration.allowAnyPort,
                let violation = url.imageURLViolation(allowingNonPublicHosts: true)
            {
                throw violation
            }
            if case .file = source, form.fileBytes == 0 {
                throw TaskRequestError(code: .invalidFile, field: TaskAPI.Field.imageFile, reason: "the uploaded file is empty")
            }
            switch LanguageSelection.resolve(names: options.languages.names, dataPath: core.configuration.tessdataPath) {
            case .success(let resolved): selection = resolved
            case .failure(let problem):
                throw TaskRequestError(code: .invalidLanguage, field: TaskAPI.Field.language, reason: problem.description)
            }
        } catch {
            discard()
            throw PicWishError(.badRequest, (error as? TaskRequestError)?.description ?? "invalid request")
        }

        // What a restart needs to run the task again, beside its source, before the record
        // that makes it pending exists.
        let imageURL: String? =
            if case .url(let url) = source { url.absoluteString } else { nil }
        do {
            try PersistedTaskJob(
                languages: options.languages.names, password: options.password, format: options.format.rawValue,
                imageURL: imageURL, forceOCR: forceOCR
            ).write(to: taskDirectory)
            try await core.store.insert(
                StoredTask(id: id, owner: owner, state: .queued, progress: 0, format: options.format, createdAt: Date()),
                reserved: true, maxPending: core.configuration.maxPendingTasks,
                maxPendingPerOwner: core.configuration.maxPendingTasksPerKey)
        } catch TaskRepositoryError.refused(let refusal) {
            // Another replica took the last place while this upload was read.
            discard()
            throw refused(refusal)
        } catch {
            discard()
            core.logger.error("task not created: the task store failed", metadata: ["reason": "\(error)"])
            throw PicWishError(.serviceUnavailable, "the server could not store the task; retry", headers: [.retryAfter: "5"])
        }
        reserved = false
        core.stats.record { $0.tasksCreated += 1 }
        core.metrics.taskCreated()
        let sourceDescription: String
        let input: ServerCore.TaskInput
        switch source {
        case .url(let url):
            input = .url(url)
            sourceDescription = url.description
        case .file(let field):
            input = .file(taskDirectory.appendingPathComponent("upload"))
            sourceDescription = "\(field) (\(form.fileBytes) bytes)"
        }
        core.logger.info(
            "task created",
            metadata: [
                "task_id": "\(id)", "format": "\(options.format.rawValue)", "languages": "\(selection)",
                "source": "\(sourceDescription)", "key": "\(key)",
            ])
        let job = ServerCore.TaskInputJob(
            id: id, owner: owner, input: input, selection: selection, password: options.password, format: options.format,
            forceOCR: forceOCR, directory: taskDirectory)
        if core.shared == nil {
            core.tracker.start(id: id) { await core.run(job) }
        } else {
            // Any replica's engines may take it; this one looks at once.
            core.claimSignal.signal()
        }
        return JSONReply.response(APIReply.success(CreatedTask(taskID: id)), status: .ok)
    }

    // MARK: Query

    /// The 429 of a full queue, the server's or the key's.
    private func refused(_ refusal: TaskStore.Refusal) -> PicWishError {
        switch refusal {
        case .server:
            PicWishError(.tooManyRequests, "too many tasks pending on this server", headers: [.retryAfter: "5"])
        case .owner:
            PicWishError(
                .tooManyRequests,
                "too many tasks pending for this API key (limit \(core.configuration.maxPendingTasksPerKey)); "
                    + "retry when some have finished",
                headers: [.retryAfter: "5"])
        }
    }

    func query(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let key = try core.authorize(request)
        guard let id = context.parameters.get("task_id") else { throw PicWishError(.notFound, "task not found") }
        let stored: StoredTask?
        do { stored = try await core.store.get(id) } catch {
            core.logger.error("task query failed: the task store failed", metadata: ["task_id": "\(id)", "reason": "\(error)"])
            // A damaged record will not heal: the caller re-creates on 404. A store that is
            // unavailable may come back: retry.
            if case .corruptRecord = error { throw PicWishError(.notFound, "task not found") }
            throw PicWishError(.serviceUnavailable, "the server could not read the task; retry", headers: [.retryAfter: "5"])
        }
        guard let task = stored, task.owner == core.keys.ownerID(of: key) else {
            throw PicWishError(.notFound, "task not found")
        }
        let base = ResultLinkBase.base(for: request, peer: context.remoteAddress, configuration: core.configuration)
        let record = task.record { name, expires in
            base + core.signer.link(name: name, expires: Int64(expires.timeIntervalSince1970))
        }
        return JSONReply.response(APIReply.success(record), status: .ok)
    }
}
