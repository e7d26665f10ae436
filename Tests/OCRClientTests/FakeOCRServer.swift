import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import OCRTaskAPI
import Synchronization

/// An in-process HTTP server that behaves like the OCR task API (docs/architecture.md, "The OCR task API") and
/// injects faults on request. Listens on 127.0.0.1, port 0.
final class FakeOCRServer: Sendable {
    /// A request as received (after its body ended).
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [(String, String)]
        var arrivedAt: ContinuousClock.Instant
        var bodyBytes: Int64
        var chunked: Bool
        var parts: [ReceivedPart]
        var formComplete: Bool

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// A fault replacing the normal reply of the next matching request.
    enum Fault: Sendable {
        /// This status with an API envelope (`message`) and extra headers.
        case status(Int, headers: [(String, String)] = [])
        /// 200 with a body that is not JSON.
        case malformedJSON
        /// Announces 1000 bytes, sends 10, closes.
        case truncatedBody
        /// Resets the connection (RST) without replying.
        case reset
        /// Replies only after this long.
        case slow(Duration)
        /// HTTP 200 whose envelope says another status.
        case envelopeStatus(Int)
        /// 302 to this location.
        case redirect(String)
        /// 200 announcing `bytes`, one sent every `interval`.
        case trickle(bytes: Int, interval: TimeAmount)
        /// The normal reply to a task query, with these extra headers.
        case queryHeaders([(String, String)])
    }

    struct State {
        var requests: [Request] = []
        var faults: [(pathPrefix: String, fault: Fault)] = []
        var taskStates: [String: TaskState] = [:]
        var defaultState = TaskState.success
        var nextTask = 0
        var sources: [String: [UInt8]] = [:]
        /// Generated files: path -> size (content from `PatternContent`).
        var generated: [String: Int64] = [:]
        var children: [any Channel] = []
        var port = 0
    }

    let apiKey: String
    let state = Mutex(State())
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    var port: Int { state.withLock { $0.port } }

    init(apiKey: String) {
        self.apiKey = apiKey
    }

    /// Starts listening; returns self.
    static func start(apiKey: String) async throws -> FakeOCRServer {
        let server = FakeOCRServer(apiKey: apiKey)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                server.state.withLock { $0.children.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(FakeServerHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.state.withLock { $0.port = channel.localAddress?.port ?? 0 }
        server.channel.withLock { $0 = channel }
        return server
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        let channel = self.channel.withLock { $0 }
        try? await channel?.close()
        let children = state.withLock { $0.children }
        for child in children { try? await child.close() }
    }

    func inject(_ fault: Fault, on pathPrefix: String = "/") {
        state.withLock { $0.faults.append((pathPrefix, fault)) }
    }

    func setState(_ state: TaskState, for taskID: String) {
        self.state.withLock { $0.taskStates[taskID] = state }
    }

    func addSource(_ path: String, bytes: [UInt8]) { state.withLock { $0.sources[path] = bytes } }

    func addGenerated(_ path: String, size: Int64) { state.withLock { $0.generated[path] = size } }

    var requests: [Request] { state.withLock { $0.requests } }

    func takeFault(for path: String) -> Fault? {
        state.withLock { state in
            guard let index = state.faults.firstIndex(where: { path.hasPrefix($0.pathPrefix) }) else { return nil }
            return state.faults.remove(at: index).fault
        }
    }
}
