import Foundation
import Testing

@testable import TestSupport

@Suite("Loopback ports for child processes")
struct LoopbackPortTests {
    /// The kernel's ephemeral range, from which outgoing connections take local ports.
    private var ephemeral: ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        return bounds.count == 2 ? bounds[0]...bounds[1] : 32_768...60_999
    }

    @Test("ports come from outside the ephemeral range, so no outgoing connection takes one before the child binds it")
    func outsideTheEphemeralRange() throws {
        for _ in 0..<100 {
            let port = try LoopbackPort.reserve()
            #expect(!ephemeral.contains(port), "\(port) is in the ephemeral range \(ephemeral)")
            #expect((1_024..<65_536).contains(port))
        }
    }

    @Test("a port is handed out once per process, even when it is still free")
    func neverTheSamePortTwice() throws {
        let ports = try (0..<300).map { _ in try LoopbackPort.reserve() }
        #expect(Set(ports).count == ports.count)
    }

    @Test("a port a listener holds is not handed out")
    func aBoundPortIsTaken() throws {
        let port = try LoopbackPort.reserve()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        try #require(bound)
        #expect(!LoopbackPort.isFree(port))
    }
}
