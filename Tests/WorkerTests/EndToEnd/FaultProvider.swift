import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A fault-injecting OCR provider for the end-to-end tests: an in-process HTTP server on
/// 127.0.0.1 (port 0) that speaks the OCR task API of docs/architecture.md (create,
/// query, result file) and misbehaves per document, as its ``Script`` says.
///
/// A job's document is named by the last path component of its URL; an uploaded document
/// keeps that name as its `filename`, so a script keyed by document name follows a job
/// through URL pass-through and upload alike. Successful tasks answer a fixed small text
/// result (the real ocr-server path is covered by the other end-to-end tests).
///
/// Every API request is logged per document (time, kind, reply status, source field) so
/// tests can count creates and queries and measure gaps.
final class FaultProvider: Sendable {
    /// How the provider treats one document.
    struct Script: Sendable {
        /// HTTP statuses answered to create requests, in order, before creates succeed.
        var createFaults: [Int] = []
        /// HTTP statuses answered to queries, in order, before queries answer normally.
        var queryFaults: [Int] = []
        /// Seconds sent as `Retry-After` with every faulty 429 / 5xx reply.
        var retryAfter: Int?
        /// The final state of the n-th created task (0-based); tasks past the end succeed.
        var states: [Int] = []
        /// Created tasks (0-based) that are lost: their queries answer 404.
        var lost: Set<Int> = []
        /// Queries of a task answering state 4 (processing) before its final state.
        var runningPolls = 0
        /// How long each successful create takes before it answers (a slow provider).
        var createDelay: Duration = .zero
        /// Seconds by which a task's `created_at` lies before its real create (a task
        /// found by a worker that resumed it long after it was created).
        var createdAtShift = 0
    }

    enum Kind: String, Sendable { case create, query, source, download, probe }

    struct Event: Sendable {
        var kind: Kind
        var arrivedAt: ContinuousClock.Instant
        var repliedAt: ContinuousClock.Instant
        var status: Int
        /// `image_url` or `image_file` (creates only).
        var sourceField: String?
        var taskID: String?
    }

    private struct TaskInfo {
        var document: String
        var index: Int
        var queries = 0
        /// Unix seconds of the create.
        var createdAt = Int(Date().timeIntervalSince1970)
    }

    private struct State {
        var scripts: [String: Script] = [:]
        var events: [String: [Event]] = [:]
        var createFaultsUsed: [String: Int] = [:]
        var createArrivals: [String: Int] = [:]
        var queryFaultsUsed: [String: Int] = [:]
        var created: [String: Int] = [:]
        var tasks: [String: TaskInfo] = [:]
        var nextTask = 0
        var unauthorized = false
        var unauthorizedReplies = 0
        var probes = 0
        /// Documents whose creates are held (not answered) until released.
        var held: Set<String> = []
    }

    let apiKey: String
    private let state = Mutex(State())
    private let ports = Mutex<[Int]>([])
    private let tasks = Mutex<[Task<Void, any Error>]>([])
    /// A loopback address whose port 80 also serves the documents (see ``start(apiKey:documentsOnPort80:)``).
    let port80Host: String?
    static let document: [UInt8] = Array("%fault-provider document%\n".utf8)

    private init(apiKey: String, port80Host: String?) {
        self.apiKey = apiKey
        self.port80Host = port80Host
    }

    /// Starts the server. With `documentsOnPort80`, the same routes are also served on port
    /// 80 of a random 127.x.y.z address: the only kind of URL the worker's client may pass
    /// to the provider as `image_url` (`DocumentURL.imageURLViolation`: ports 80 and 443
    /// only; loopback hosts only with `OCR_ALLOW_PRIVATE_SOURCES`). Needs root or a low
    /// `ip_unprivileged_port_start`.
    static func start(apiKey: String, documentsOnPort80: Bool = false) async throws -> FaultProvider {
        let host80 = documentsOnPort80 ? "127.\(Int.random(in: 1...254)).\(Int.random(in: 1...254)).\(Int.random(in: 2...254))" : nil
        let provider = FaultProvider(apiKey: apiKey, port80Host: host80)
        try await provider.listen(host: "127.0.0.1", port: 0)
        if let host80 { try await provider.listen(host: host80, port: 80) }
        return provider
    }

    /// Runs `body` with a started provider and stops it afterwards.
    static func with(apiKey: String, documentsOnPort80: Bool = false, _ body: (FaultProvider) async throws -> Void) async throws {
        let provider = try await start(apiKey: apiKey, documentsOnPort80: documentsOnPort80)
        do {
            try await body(provider)
        } catch {
            await provider.stop()
            throw error
        }
        await provider.stop()
    }

    var port: Int { ports.withLock { $0.first ?? 0 } }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// A document URL served on the random port (the worker uploads such documents).
    func documentURL(_ name: String) -> String { "\(baseURL)/docs/\(name)" }
    /// A document URL on port 80 (passable as `image_url`).
    func documentURLOnPort80(_ name: String) -> String { "http://\(port80Host!)/docs/\(name)" }

    func script(_ document: String, _ script: Script) { state.withLock { $0.scripts[document] = script } }

    /// Holds the document's create requests, unanswered, until ``release(_:)``: a test
    /// acts between the provider's accept of a create and the worker's hearing of it
    /// (the task is created once the hold is released).
    func hold(_ document: String) { state.withLock { _ = $0.held.insert(document) } }
    func release(_ document: String) { state.withLock { _ = $0.held.remove(document) } }

    /// Answer every API request with 401 (a revoked key) while `on`.
    func setUnauthorized(_ on: Bool) { state.withLock { $0.unauthorized = on } }
    var unauthorizedReplies: Int { state.withLock { $0.unauthorizedReplies } }

    func events(_ document: String) -> [Event] { state.withLock { $0.events[document] ?? [] } }
    func events(_ document: String, _ kind: Kind) -> [Event] { events(document).filter { $0.kind == kind } }
    /// Create requests that created a task.
    func creates(_ document: String) -> [Event] { events(document, .create).filter { $0.status == 200 } }
    func createRequests(_ document: String) -> Int { events(document, .create).count }
    /// Create requests received, counted on arrival (a slow create is logged as an event
    /// only when it answers).
    func createArrivals(_ document: String) -> Int { state.withLock { $0.createArrivals[document, default: 0] } }
    func queries(_ document: String) -> Int { events(document, .query).count }

    func stop() async {
        let running = tasks.withLock { t -> [Task<Void, any Error>] in
            defer { t = [] }
            return t
        }
        for task in running { task.cancel() }
        // Bounded: a keep-alive connection of the worker must not hold the test up.
        let finished = Arc()
        for task in running {
            Task {
                _ = await task.result
                finished.count.withLock { $0 += 1 }
            }
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while finished.count.withLock({ $0 }) < running.count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private final class Arc: Sendable { let count = Mutex(0) }

    // MARK: Serving

    private func listen(host: String, port: Int) async throws {
        let router = Router()
        router.post("/api/tasks/document/ocr") { request, _ in try await self.create(request) }
        router.get("/api/tasks/document/ocr/:id") { request, context in self.query(request, taskID: context.parameters.get("id") ?? "") }
        router.get("/docs/:name") { _, context in self.serveDocument(context.parameters.get("name") ?? "") }
        router.get("/results/:id") { _, context in self.serveResult(context.parameters.get("id") ?? "") }
        let bound = Mutex<Int?>(nil)
        var logger = Pipeline.logger
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "fault-provider"),
            onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        tasks.withLock { $0.append(task) }
        let deadline = ContinuousClock.now + .seconds(10)
        while bound.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw PipelineError("the fault provider could not listen on \(host):\(port)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        if port == 0 { ports.withLock { $0.insert(bound.withLock { $0 }!, at: 0) } }
    }

    private func create(_ request: Request) async throws -> Response {
        let arrived = ContinuousClock.now
        var request = request
        let body = try await request.collectBody(upTo: 64 << 20)
        let form = Self.parseForm(body, contentType: request.headers[.contentType] ?? "")
        let document = form.document ?? "unknown"
        if let denied = authorize(request) {
            log(document, Event(kind: .create, arrivedAt: arrived, repliedAt: .now, status: 401, sourceField: form.field))
            return denied
        }
        let (fault, script) = state.withLock { s -> (Int?, Script) in
            s.createArrivals[document, default: 0] += 1
            let script = s.scripts[document] ?? Script()
            let used = s.createFaultsUsed[document, default: 0]
            guard used < script.createFaults.count else { return (nil, script) }
            s.createFaultsUsed[document] = used + 1
            return (script.createFaults[used], script)
        }
        if let fault {
            log(document, Event(kind: .create, arrivedAt: arrived, repliedAt: .now, status: fault, sourceField: form.field))
            return Self.error(fault, retryAfter: script.retryAfter)
        }
        while state.withLock({ $0.held.contains(document) }) { try await Task.sleep(for: .milliseconds(20)) }
        if script.createDelay > .zero { try await Task.sleep(for: script.createDelay) }
        let taskID = state.withLock { s -> String in
            s.nextTask += 1
            let id = "fault-\(s.nextTask)"
            let index = s.created[document, default: 0]
            s.created[document] = index + 1
            s.tasks[id] = TaskInfo(document: document, index: index)
            return id
        }
        log(document, Event(kind: .create, arrivedAt: arrived, repliedAt: .now, status: 200, sourceField: form.field, taskID: taskID))
        return Self.json(["status": 200, "message": "success", "data": ["task_id": taskID]])
    }

    private func query(_ request: Request, taskID: String) -> Response {
        let arrived = ContinuousClock.now
        let known = state.withLock { $0.tasks[taskID] }
        guard let known else {
            // The worker's probe asks for a task that does not exist.
            if let denied = authorize(request) { return denied }
            state.withLock { $0.probes += 1 }
            return Self.error(404)
        }
        let document = known.document
        if let denied = authorize(request) {
            log(document, Event(kind: .query, arrivedAt: arrived, repliedAt: .now, status: 401, taskID: taskID))
            return denied
        }
        enum Answer {
            case fault(Int, Int?)
            case lost
            case state(Int, TaskInfo)
        }
        let answer = state.withLock { s -> Answer in
            let script = s.scripts[document] ?? Script()
            let used = s.queryFaultsUsed[document, default: 0]
            if used < script.queryFaults.count {
                s.queryFaultsUsed[document] = used + 1
                return .fault(script.queryFaults[used], script.retryAfter)
            }
            if script.lost.contains(known.index) { return .lost }
            s.tasks[taskID]?.queries += 1
            let info = s.tasks[taskID]!
            if info.queries <= script.runningPolls { return .state(4, info) }
            return .state(known.index < script.states.count ? script.states[known.index] : 1, info)
        }
        switch answer {
        case .fault(let status, let retryAfter):
            log(document, Event(kind: .query, arrivedAt: arrived, repliedAt: .now, status: status, taskID: taskID))
            return Self.error(status, retryAfter: retryAfter)
        case .lost:
            log(document, Event(kind: .query, arrivedAt: arrived, repliedAt: .now, status: 404, taskID: taskID))
            return Self.error(404, message: "task not found")
        case .state(let taskState, let info):
            log(document, Event(kind: .query, arrivedAt: arrived, repliedAt: .now, status: 200, taskID: taskID))
            let now = Int(Date().timeIntervalSince1970)
            let shift = state.withLock { $0.scripts[document]?.createdAtShift ?? 0 }
            var data: [String: Any] = [
                "task_id": taskID, "state": taskState, "progress": taskState == 1 ? 100 : (taskState == 4 ? 50 : 0),
                "created_at": "\(info.createdAt - shift)",
            ]
            if taskState == 1 {
                data["file"] = "\(baseURL)/results/\(taskID).txt"
                data["processed_at"] = "\(now - 1)"
                data["completed_at"] = "\(now)"
            } else if taskState < 0 {
                data["state_detail"] = "injected state \(taskState)"
            }
            return Self.json(["status": 200, "message": "success", "data": data])
        }
    }

    private func serveDocument(_ name: String) -> Response {
        log(name, Event(kind: .source, arrivedAt: .now, repliedAt: .now, status: 200))
        var headers = HTTPFields()
        headers[.contentType] = "image/png"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Self.document)))
    }

    private func serveResult(_ file: String) -> Response {
        let taskID = String(file.split(separator: ".").first ?? "")
        guard let info = state.withLock({ $0.tasks[taskID] }) else { return Self.error(404) }
        log(info.document, Event(kind: .download, arrivedAt: .now, repliedAt: .now, status: 200, taskID: taskID))
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.resultText(info.document))))
    }

    static func resultText(_ document: String) -> String { "fault-provider text of \(document)\n" }

    private func authorize(_ request: Request) -> Response? {
        let key = request.headers.first { $0.name.canonicalName == "x-api-key" }?.value
        let unauthorized = state.withLock { s -> Bool in
            let denied = s.unauthorized || key != apiKey
            if denied { s.unauthorizedReplies += 1 }
            return denied
        }
        return unauthorized ? Self.error(401, message: "invalid api key") : nil
    }

    private func log(_ document: String, _ event: Event) {
        state.withLock { $0.events[document, default: []].append(event) }
    }

    // MARK: Wire helpers

    private static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok, retryAfter: Int? = nil) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let retryAfter { headers[.init("Retry-After")!] = "\(retryAfter)" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func error(_ status: Int, message: String? = nil, retryAfter: Int? = nil) -> Response {
        json(["status": status, "message": message ?? "injected \(status)"], status: HTTPResponse.Status(code: status), retryAfter: retryAfter)
    }

    /// The source field sent and the document's name, from a multipart form (read as
    /// Latin-1 so that any bytes decode).
    static func parseForm(_ body: ByteBuffer, contentType: String) -> (field: String?, document: String?) {
        let text = String(body.readableBytesView.map { Character(UnicodeScalar($0)) })
        if let range = text.range(of: "name=\"image_url\"\r\n\r\n") {
            let rest = text[range.upperBound...]
            let value = rest.range(of: "\r\n").map { String(rest[..<$0.lowerBound]) } ?? String(rest)
            let name = URL(string: value)?.lastPathComponent
            return ("image_url", name)
        }
        for field in ["image_file", "file"] {
            if let range = text.range(of: "name=\"\(field)\"; filename=\"") {
                let rest = text[range.upperBound...]
                let name = rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
                return (field, name)
            }
        }
        return (nil, nil)
    }
}
