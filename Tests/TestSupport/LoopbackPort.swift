import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Loopback ports for servers a test starts as separate processes (ocr-server, ocr-worker,
/// a sample file server), which must be told their port before they bind it.
///
/// A port the kernel hands out for `bind(port: 0)` comes from the ephemeral range
/// (`net.ipv4.ip_local_port_range`), the same range every outgoing connection's local port
/// comes from. Between closing the probe socket and the child process binding the port,
/// any of the run's hundreds of Kafka, PostgreSQL and HTTP connections may take it, and the
/// child then fails to start ("did not answer within 30 s"). So ports come from below the
/// ephemeral range, where the kernel never picks a local port by itself, and a port is
/// handed out at most once per test process, so two suites running side by side never get
/// the same one.
public enum LoopbackPort {
    private static let handedOut = Mutex<Set<Int>>([])

    /// A port on 127.0.0.1 that was free a moment ago, outside the ephemeral range, never
    /// returned before by this process.
    public static func reserve() throws -> Int {
        let (low, high) = candidates()
        for _ in 0..<2_000 {
            let port = Int.random(in: low..<high)
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            if fresh, isFree(port) { return port }
        }
        throw LoopbackPortError(description: "no free loopback port in \(low)..<\(high)")
    }

    /// Ports from 20000 up to the start of the ephemeral range (Linux's default starts at
    /// 32768); if the range was moved down so far that little is left below it, the
    /// ports above it.
    static func candidates() -> (Int, Int) {
        let range =
            (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
            .map { $0.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } } ?? []
        let ephemeralLow = range.count == 2 ? range[0] : 32_768
        let ephemeralHigh = range.count == 2 ? range[1] : 60_999
        if ephemeralLow - 20_000 >= 2_000 { return (20_000, ephemeralLow) }
        if ephemeralLow - 1_024 >= 2_000 { return (1_024, ephemeralLow) }
        return (ephemeralHigh + 1, 65_536)
    }

    /// Whether a listening socket can bind `port` on 127.0.0.1 now (no SO_REUSEADDR: a port
    /// with connections lingering in TIME_WAIT counts as taken, as it would for a server
    /// that does not set it).
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

public struct LoopbackPortError: Error, CustomStringConvertible {
    public let description: String
}
