import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import OCRTaskAPI
import TestSupport

/// The per-connection handler of ``FakeOCRServer``: parses the request (forms streaming),
/// then answers like the API, or with the next injected fault. Always closes the connection
/// after replying, which keeps the fault cases simple.
final class FakeServerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: FakeOCRServer
    private var head: HTTPRequestHead?
    private var parser: StreamingMultipartParser?
    private var bodyBytes: Int64 = 0
    private var arrivedAt = ContinuousClock.now

    init(server: FakeOCRServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            arrivedAt = .now
            bodyBytes = 0
            parser = nil
            if let type = head.headers.first(name: "Content-Type"), type.hasPrefix("multipart/form-data"),
                let range = type.range(of: "boundary=")
            {
                parser = StreamingMultipartParser(boundary: String(type[range.upperBound...]))
            }
        case .body(let buffer):
            bodyBytes += Int64(buffer.readableBytes)
            parser?.feed(buffer.readableBytesView)
        case .end:
            guard let head else { return }
            respond(context: context, head: head)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        let request = FakeOCRServer.Request(
            method: head.method.rawValue, path: path, headers: head.headers.map { ($0.name, $0.value) },
            arrivedAt: arrivedAt, bodyBytes: bodyBytes,
            chunked: head.headers.first(name: "Transfer-Encoding")?.lowercased() == "chunked",
            parts: parser?.parts ?? [], formComplete: parser?.isComplete ?? false)
        server.state.withLock { $0.requests.append(request) }

        if let fault = server.takeFault(for: path) {
            switch fault {
            case .status(let status, let headers):
                return send(context, status: status, json: envelope(status: status), headers: headers)
            case .malformedJSON:
                return send(context, status: 200, body: ByteBuffer(string: "{\"status\": 200, \"data\": {\"task_id\""))
            case .envelopeStatus(let status):
                return send(context, status: 200, json: envelope(status: status))
            case .truncatedBody:
                var headers = HTTPHeaders([("Content-Length", "1000"), ("Content-Type", "application/json")])
                headers.add(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{\"status\":")))), promise: nil)
                context.close(promise: nil)
                return
            case .reset:
                // SO_LINGER 0 turns the close into a reset (RST).
                guard let provider = context.channel as? any SocketOptionProvider else {
                    context.close(promise: nil)
                    return
                }
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                    .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                return
            case .redirect(let location):
                return send(context, status: 302, body: ByteBuffer(), extra: [("Location", location)])
            case .queryHeaders(let extra):
                let taskID = String(path.dropFirst(TaskAPI.createPath.count + 1))
                return query(context, taskID: taskID, headers: extra)
            case .trickle(let bytes, let interval):
                let headers = HTTPHeaders([("Content-Length", "\(bytes)"), ("Connection", "close")])
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                return TrickledBody.write(context, left: bytes, interval: interval)
            case .slow(let delay):
                let (seconds, attoseconds) = delay.components
                let amount = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
                context.eventLoop.assumeIsolated().scheduleTask(in: amount) {
                    self.route(context: context, head: head, path: path, request: request)
                }
                return
            }
        }
        route(context: context, head: head, path: path, request: request)
    }

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead, path: String, request: FakeOCRServer.Request) {
        let isAPI = path.hasPrefix(TaskAPI.createPath)
        if isAPI, head.headers.first(name: TaskAPI.apiKeyHeader) != server.apiKey {
            return send(context, status: 401, json: envelope(status: 401))
        }
        if head.method == .POST, path == TaskAPI.createPath {
            return create(context, request: request)
        }
        if head.method == .GET, path.hasPrefix(TaskAPI.createPath + "/") {
            let taskID = String(path.dropFirst(TaskAPI.createPath.count + 1))
            return query(context, taskID: taskID)
        }
        if head.method == .GET {
            let (source, generated) = server.state.withLock { ($0.sources[path], $0.generated[path]) }
            if let source {
                return send(context, status: 200, body: ByteBuffer(bytes: source), contentType: "application/pdf")
            }
            if let generated {
                return stream(context, size: generated)
            }
        }
        send(context, status: 404, json: envelope(status: 404))
    }

    private func create(_ context: ChannelHandlerContext, request: FakeOCRServer.Request) {
        // Validate with the shared contract, like a real server would.
        let imageURL = request.parts.first { $0.name == TaskAPI.Field.imageURL }?.text
        let files = request.parts.filter { $0.filename != nil }.map(\.name)
        do {
            guard request.formComplete else {
                throw TaskRequestError(code: .invalidFile, field: "form", reason: "incomplete multipart body")
            }
            _ = try SourceFields.resolve(imageURL: imageURL, fileFieldNames: files)
            _ = try TaskOptions(
                language: request.parts.first { $0.name == TaskAPI.Field.language }?.text,
                password: request.parts.first { $0.name == TaskAPI.Field.password }?.text,
                format: request.parts.first { $0.name == TaskAPI.Field.format }?.text)
        } catch {
            return send(context, status: 400, json: envelope(status: 400, message: "\(error)"))
        }
        let id = server.state.withLock { state in
            state.nextTask += 1
            return "task-\(state.nextTask)"
        }
        send(context, status: 200, json: encode(APIReply.success(CreatedTask(taskID: id))))
    }

    private func query(_ context: ChannelHandlerContext, taskID: String, headers extra: [(String, String)] = []) {
        let state = server.state.withLock { $0.taskStates[taskID] ?? $0.defaultState }
        let record = TaskRecord(
            taskID: taskID, state: state, progress: state == .success ? 100 : (state.isPending ? 40 : 0),
            file: state == .success ? "\(server.baseURL)/results/\(taskID).txt?sig=QUERYSECRET" : nil,
            createdAt: UnixTimestamp(seconds: 1_700_000_000),
            completedAt: state.isTerminal ? UnixTimestamp(seconds: 1_700_000_009) : nil,
            stateDetail: state.name)
        send(context, status: 200, json: encode(APIReply.success(record)), headers: extra)
    }

    private func envelope(status: Int, message: String? = nil) -> String {
        encode(APIReply<CreatedTask>.failure(status: status, message: message ?? "status \(status)"))
    }

    private func encode<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self)
    }

    private func send(
        _ context: ChannelHandlerContext, status: Int, json: String, headers extra: [(String, String)] = []
    ) {
        send(context, status: status, body: ByteBuffer(string: json), contentType: "application/json", extra: extra)
    }

    private func send(
        _ context: ChannelHandlerContext, status: Int, body: ByteBuffer, contentType: String = "application/json",
        extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders([
            ("Content-Length", "\(body.readableBytes)"), ("Content-Type", contentType), ("Connection", "close"),
        ])
        for (name, value) in extra { headers.add(name: name, value: value) }
        let responseHead = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Streams generated content with one write in flight, so the server never buffers the
    /// whole file either.
    private func stream(_ context: ChannelHandlerContext, size: Int64) {
        let headers = HTTPHeaders([
            ("Content-Length", "\(size)"), ("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close"),
        ])
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        writeChunk(context, offset: 0, size: size)
    }

    private func writeChunk(_ context: ChannelHandlerContext, offset: Int64, size: Int64) {
        guard offset < size, context.channel.isActive else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
            return
        }
        let length = Int(min(Int64(256 * 1024), size - offset))
        let chunk = PatternContent.chunk(offset: offset, length: length, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk)))).assumeIsolated().whenComplete { result in
            if case .success = result { self.writeChunk(context, offset: offset + Int64(length), size: size) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
