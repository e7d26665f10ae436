import NIOPosix
public import NetworkAddress
import OCRTaskAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system resolver (`getaddrinfo`): what the HTTP client itself would have used, asked
/// exactly once.
///
/// `getaddrinfo` blocks its thread until the system's resolver answers or gives up, which
/// a hung DNS server can make a long time. So it runs on threads of its own
/// (``lookupThreads``), never on NIO's shared blocking pool, where stuck lookups would
/// stall everything else that uses it (file I/O, other blocking work). Callers do not wait
/// for a stuck lookup either: ``GuardedFetcher`` gives up on it after its
/// ``GuardedFetcher/resolveTimeout``, and a lookup whose caller gave up before its turn
/// came is skipped.
public struct SystemHostResolver: HostResolver {
    /// Lookups at once in this process; more wait for a free thread.
    public static let lookupThreads = 4

    /// The lookup threads, started on first use and kept for the process's life.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: lookupThreads)
        pool.start()
        return pool
    }()

    public init() {}

    public func resolve(_ host: String) async throws -> [IPAddress] {
        try await Self.pool.runIfActive { Self.lookUp(host) }
    }

    /// Every distinct address `getaddrinfo` gives for `host`, in its order; empty when it
    /// fails.
    static func lookUp(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            guard let socketAddress = current.pointee.ai_addr else { continue }
            var bytes: [UInt8] = []
            if current.pointee.ai_family == AF_INET {
                socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin_addr
                    bytes = withUnsafeBytes(of: &raw) { Array($0) }
                }
            } else if current.pointee.ai_family == AF_INET6 {
                socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin6_addr
                    bytes = withUnsafeBytes(of: &raw) { Array($0) }
                }
            }
            if let address = IPAddress(bytes: bytes), !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }
}
