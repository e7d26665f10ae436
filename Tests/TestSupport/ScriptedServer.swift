public import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP server on 127.0.0.1 (port 0) that answers each path from a script, and records
/// the requests it got (path and Host header).
public final class ScriptedServer: Sendable {
    public enum Reply: Sendable {
        case bytes([UInt8])
        case redirect(String, status: Int = 302)
        /// `total` bytes announced, one byte sent every `interval`.
        case trickle(total: Int, interval: TimeAmount)
    }

    public struct Seen: Sendable {
        public var path: String
        public var host: String?
    }

    private let state = Mutex<(replies: [String: Reply], seen: [Seen])>(([:], []))
    private let channel = Mutex<(any Channel)?>(nil)
    private let boundPort = Atomic<Int>(0)

    public var port: Int { boundPort.load(ordering: .relaxed) }
    public var seen: [Seen] { state.withLock { $0.seen } }

    public func reply(_ path: String, _ reply: Reply) { state.withLock { $0.replies[path] = reply } }

    public static func start() async throws -> ScriptedServer {
        let server = ScriptedServer()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.boundPort.store(channel.localAddress?.port ?? 0, ordering: .relaxed)
        server.channel.withLock { $0 = channel }
        return server
    }

    public func stop() async {
        let channel = self.channel.withLock { $0 }
        try? await channel?.close()
    }

    fileprivate func answer(_ head: HTTPRequestHead) -> Reply? {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        return state.withLock { state in
            state.seen.append(Seen(path: path, host: head.headers.first(name: "Host")))
            return state.replies[path]
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: ScriptedServer

        init(server: ScriptedServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            switch server.answer(head) {
            case .bytes(let bytes):
                send(context, status: .ok, headers: [("Content-Length", "\(bytes.count)")], body: bytes)
            case .redirect(let location, let status):
                send(context, status: .init(statusCode: status), headers: [("Location", location), ("Content-Length", "0")], body: [])
            case .trickle(let total, let interval):
                let headers = HTTPHeaders([("Content-Length", "\(total)"), ("Connection", "close")])
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                TrickledBody.write(context, left: total, interval: interval)
            case nil:
                send(context, status: .notFound, headers: [("Content-Length", "0")], body: [])
            }
        }

        private func send(_ context: ChannelHandlerContext, status: HTTPResponseStatus, headers: [(String, String)], body: [UInt8]) {
            var all = HTTPHeaders(headers)
            all.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: all))), promise: nil)
            if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
