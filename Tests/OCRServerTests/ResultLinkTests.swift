import Foundation
import Hummingbird
import NIOCore
import OCRTaskAPI
import TestSupport
import Testing

@testable import OCRServer

/// Result links are https when a trusted proxy says the client came over TLS
/// (`X-Forwarded-Proto`, `Forwarded: proto=`), http otherwise; a configured public URL
/// always wins.
@Suite(.tags(.tesseract)) struct ResultLinkTests {
    static func request(_ headers: [(String, String)], authority: String = "ocr.example.test") -> Request {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(.init(name: .init(name)!, value: value)) }
        return Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: authority, path: "/", headerFields: fields),
            body: RequestBody(buffer: ByteBuffer()))
    }

    static func base(
        _ headers: [(String, String)], peer: String?, _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws -> String {
        var configuration = ServerConfiguration()
        configure(&configuration)
        let address = try peer.map { try SocketAddress(ipAddress: $0, port: 40000) }
        return ResultLinkBase.base(for: request(headers), peer: address, configuration: configuration)
    }

    @Test func aTrustedProxysForwardedProtoMakesLinksHTTPS() throws {
        let forwarded = [("X-Forwarded-Proto", "https")]
        #expect(try Self.base(forwarded, peer: "10.2.3.4") == "https://ocr.example.test")
        #expect(try Self.base(forwarded, peer: "127.0.0.1") == "https://ocr.example.test")
        #expect(try Self.base(forwarded, peer: "::ffff:192.168.1.9") == "https://ocr.example.test")
        #expect(
            try Self.base([("Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43, for=10.0.0.1;proto=http")], peer: "10.0.0.1")
                == "https://ocr.example.test", "the first element: the proxy the client reached")
        #expect(try Self.base([("Forwarded", "For=\"[2001:db8::1]\"; Proto=\"HTTPS\"")], peer: "fd00::5") == "https://ocr.example.test")
        #expect(try Self.base([("X-Forwarded-Proto", "https, http")], peer: "10.0.0.1") == "https://ocr.example.test")
    }

    @Test func untrustedPeersAndOtherValuesKeepHTTP() throws {
        let forwarded = [("X-Forwarded-Proto", "https")]
        #expect(try Self.base(forwarded, peer: "203.0.113.7") == "http://ocr.example.test", "a public peer is not a proxy of ours")
        #expect(try Self.base(forwarded, peer: nil) == "http://ocr.example.test")
        #expect(try Self.base(forwarded, peer: "10.2.3.4") { $0.trustedProxies = .none } == "http://ocr.example.test")
        #expect(try Self.base([("X-Forwarded-Proto", "gopher")], peer: "10.2.3.4") == "http://ocr.example.test")
        #expect(try Self.base([], peer: "10.2.3.4") == "http://ocr.example.test")
    }

    @Test func aConfiguredNetworkIsTrustedAndAPublicURLWins() throws {
        let forwarded = [("X-Forwarded-Proto", "https")]
        let proxies = try TrustedProxies("203.0.113.0/24, 2001:db8::/32")
        #expect(try Self.base(forwarded, peer: "203.0.113.7") { $0.trustedProxies = proxies } == "https://ocr.example.test")
        #expect(try Self.base(forwarded, peer: "2001:db8:1::9") { $0.trustedProxies = proxies } == "https://ocr.example.test")
        #expect(try Self.base(forwarded, peer: "10.0.0.1") { $0.trustedProxies = proxies } == "http://ocr.example.test")
        #expect(try Self.base(forwarded, peer: "10.0.0.1") { $0.publicBaseURL = "http://plain.example.test/" } == "http://plain.example.test")
        #expect(try TrustedProxies("private, 198.51.100.1").description == "private,198.51.100.1/32")
        #expect(throws: TrustedProxies.Problem.self) { try TrustedProxies("10.0.0.0/33") }
        #expect(throws: TrustedProxies.Problem.self) { try TrustedProxies("proxy.example.test") }
    }

    /// The whole path on a live server: the peer is loopback (trusted by default), so a
    /// query that says it came through TLS gets an https link to the host it asked for.
    @Test func aQueryThroughATLSProxyGetsAnHTTPSLink() async throws {
        try await withServer { server, api in
            let id = try await api.createTask([.file("image_file", "clean.png", try Repo.sample("clean.png")), .field("language", "English")])
            _ = try await api.waitTerminal(id)
            let proxied = try await api.send(
                .GET, "/api/tasks/document/ocr/\(id)", headers: [("X-Forwarded-Proto", "https"), ("Host", "ocr.example.test")])
            let link = proxied.data["file"] as? String ?? ""
            #expect(link.hasPrefix("https://ocr.example.test/results/\(id).txt?"), "\(proxied.text)")
            let direct = try await api.query(id).data["file"] as? String ?? ""
            #expect(direct.hasPrefix("http://127.0.0.1:\(server.port)/results/"), "\(direct)")
        }
    }
}
