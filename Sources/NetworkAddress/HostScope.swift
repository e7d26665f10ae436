import Foundation

/// Where a host or an address lives: the one address classifier of the project.
///
/// Used by the client's source policy (a provider on the internet cannot fetch a private
/// host, so we upload instead) and, through ``AddressPolicy``, by every download the worker
/// and ocr-server make themselves (which addresses they may connect to).
///
/// ``classify(host:)`` reads a URL's host as written: literal addresses, and reserved names
/// (`localhost`, `.internal`, cloud metadata names). A DNS name that resolves to a private
/// address is ``public`` by its text, so a download must also check every resolved address
/// with ``classify(address:)`` and connect to one it checked.
///
/// IPv6 forms that carry an IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo)
/// are classified by the embedded address too: `64:ff9b::a9fe:a9fe` is the metadata
/// service, not a public host. When the embedded address is public, the translated form
/// is still ``private`` (it reaches the internet only through a translator or relay on the
/// local network: an IPv6-only cluster's NAT64, for instance), except IPv4-mapped, which is
/// the IPv4 address itself, and IPv4-compatible, which is deprecated (``reserved``).
public enum HostScope: String, Sendable, Hashable, CustomStringConvertible {
    /// 127.0.0.0/8, ::1, `localhost` and `*.localhost`.
    case loopback
    /// RFC 1918, 100.64.0.0/10 (CGNAT), fc00::/7 (ULA), fec0::/10, the `.internal`,
    /// `.local`, `.lan`, `.home.arpa` names and single labels; translated IPv6 forms of a
    /// public IPv4 address (NAT64, 6to4, Teredo).
    case `private`
    /// 169.254.0.0/16 and fe80::/10.
    case linkLocal = "link_local"
    /// Cloud metadata services: 169.254.169.254, 169.254.170.2 and .23 (ECS, EKS),
    /// 100.100.100.200 (Alibaba), 192.0.0.192 (Oracle), fd00:ec2::254 and fd00:ec2::23 (AWS
    /// IPv6), and the names `metadata.google.internal`, `metadata`, `instance-data`. Never
    /// fetched, whatever a deployment allows.
    case metadata
    /// 0.0.0.0/8 and :: (Linux connects them to the local host), multicast (224.0.0.0/4,
    /// ff00::/8), 240.0.0.0/4 and the broadcast address.
    case unspecified
    /// Special-purpose ranges that no document lives on: documentation (192.0.2.0/24,
    /// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20), benchmarking
    /// (198.18.0.0/15, 2001:2::/48), IETF protocol assignments (192.0.0.0/24, 2001::/23
    /// outside Teredo), the 6to4 relay anycast 192.88.99.0/24, discard-only 100::/64 and
    /// IPv4-compatible IPv6 (::/96).
    case reserved
    /// Anything else.
    case `public`

    /// Whether a provider on the internet can be expected to reach the host.
    public var isPubliclyRoutable: Bool { self == .public }

    public var description: String { rawValue }

    /// Names of metadata services (lowercased, without a trailing dot).
    static let metadataNames: Set<String> = [
        "metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal",
    ]

    static let metadataAddresses: Set<IPAddress> = Set(
        ["169.254.169.254", "169.254.170.2", "169.254.170.23", "100.100.100.200", "192.0.0.192", "fd00:ec2::254", "fd00:ec2::23"]
            .compactMap { IPAddress($0) })

    /// Classifies a host as written in a URL (IPv6 may be bracketed).
    public static func classify(host rawHost: String) -> HostScope {
        var host = rawHost.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        if let address = IPAddress(host) { return classify(address: address) }
        if host.contains(":") || host.isEmpty { return .unspecified }
        if metadataNames.contains(host) { return .metadata }
        if host == "localhost" || host.hasSuffix(".localhost") { return .loopback }
        for suffix in [".internal", ".local", ".lan", ".home.arpa", ".localdomain"] where host.hasSuffix(suffix) {
            return .private
        }
        // A single label ("minio", "ocr-server") only resolves through a local search domain.
        if !host.contains(".") { return .private }
        return .public
    }

    /// Classifies an address, including the IPv4 address an IPv6 form embeds.
    public static func classify(address: IPAddress) -> HostScope {
        if metadataAddresses.contains(address) { return .metadata }
        return address.isIPv4 ? classify(ipv4: address.bytes) : classify(ipv6: address.bytes)
    }

    static func classify(ipv4 a: [UInt8]) -> HostScope {
        if let address = IPAddress(bytes: a), metadataAddresses.contains(address) { return .metadata }
        switch (a[0], a[1], a[2]) {
        case (0, _, _): return .unspecified
        case (127, _, _): return .loopback
        case (10, _, _), (172, 16...31, _), (192, 168, _): return .private
        case (100, 64...127, _): return .private
        case (169, 254, _): return .linkLocal
        case (192, 0, 0), (192, 0, 2), (198, 51, 100), (203, 0, 113), (198, 18...19, _), (192, 88, 99): return .reserved
        case (224...255, _, _): return .unspecified
        default: return .public
        }
    }

    static func classify(ipv6 a: [UInt8]) -> HostScope {
        if let address = IPAddress(bytes: a), metadataAddresses.contains(address) { return .metadata }
        let zeroPrefix = a[0..<10].allSatisfy { $0 == 0 }
        func v4(_ offset: Int) -> HostScope { classify(ipv4: Array(a[offset..<offset + 4])) }
        if zeroPrefix, a[10] == 0, a[11] == 0 {
            if a[12..<16].allSatisfy({ $0 == 0 }) { return .unspecified }
            if a[12..<15].allSatisfy({ $0 == 0 }), a[15] == 1 { return .loopback }
            // IPv4-compatible ::a.b.c.d (deprecated).
            return stricter(v4(12), .reserved)
        }
        // IPv4-mapped ::ffff:a.b.c.d: the IPv4 address itself.
        if zeroPrefix, a[10] == 0xff, a[11] == 0xff { return v4(12) }
        // NAT64, well-known 64:ff9b::/96 and local-use 64:ff9b:1::/48 (RFC 6052, 8215).
        if a[0] == 0x00, a[1] == 0x64, a[2] == 0xff, a[3] == 0x9b {
            if a[4..<12].allSatisfy({ $0 == 0 }) { return stricter(v4(12), .private) }
            if a[4] == 0, a[5] == 1 {
                // A local-use prefix is /48 to /96. The /96 form decides; where a shorter
                // prefix would put a loopback, link-local or metadata address, that counts
                // too (other readings of those bytes are just the prefix's subnet bits).
                var scope = stricter(v4(12), .private)
                for form in [[a[6], a[7], a[9], a[10]], [a[7], a[9], a[10], a[11]], [a[9], a[10], a[11], a[12]]] {
                    let embedded = classify(ipv4: form)
                    if [.loopback, .linkLocal, .metadata].contains(embedded) { scope = stricter(scope, embedded) }
                }
                return scope
            }
        }
        // 6to4 2002:a.b.c.d::/48.
        if a[0] == 0x20, a[1] == 0x02 { return stricter(v4(2), .private) }
        if a[0] == 0x20, a[1] == 0x01, a[2] & 0xfe == 0 {
            // Teredo 2001:0::/32: the server's address, then the client's, inverted.
            if a[2] == 0, a[3] == 0 {
                let client = classify(ipv4: a[12..<16].map { ~$0 })
                return stricter(stricter(v4(4), client), .private)
            }
            // Benchmarking 2001:2::/48 and the rest of 2001::/23 (IETF protocol assignments).
            return .reserved
        }
        if a[0] == 0x20, a[1] == 0x01, a[2] == 0x0d, a[3] == 0xb8 { return .reserved }
        if a[0] == 0x3f, a[1] == 0xff, a[2] & 0xf0 == 0 { return .reserved }
        if a[0] == 0x01, a[1] == 0x00, a[2..<8].allSatisfy({ $0 == 0 }) { return .reserved }
        if a[0] & 0xfe == 0xfc { return .private }
        if a[0] == 0xfe, a[1] & 0xc0 == 0x80 { return .linkLocal }
        if a[0] == 0xfe, a[1] & 0xc0 == 0xc0 { return .private }
        if a[0] == 0xff { return .unspecified }
        return .public
    }

    /// The scope a download is less likely to be allowed to reach.
    static func stricter(_ lhs: HostScope, _ rhs: HostScope) -> HostScope {
        lhs.strictness >= rhs.strictness ? lhs : rhs
    }

    private var strictness: Int {
        switch self {
        case .public: 0
        case .private: 1
        case .loopback: 2
        case .reserved: 3
        case .unspecified: 4
        case .linkLocal: 5
        case .metadata: 6
        }
    }
}
