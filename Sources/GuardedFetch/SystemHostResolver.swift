import NIOPosix
public import OCRTaskAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system resolver (`getaddrinfo`, on NIO's blocking thread pool): what the HTTP client
/// itself would have used, asked exactly once.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func resolve(_ host: String) async throws -> [IPAddress] {
        try await NIOThreadPool.singleton.runIfActive {
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
}
