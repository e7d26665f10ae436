import Foundation

/// Where a URL's host lives, as far as its text tells.
///
/// Used by the client's source policy (a provider on the internet cannot fetch a private
/// host, so we upload instead) and by ocr-server's fetch guard (never fetch loopback,
/// private or link-local addresses unless allowed). Only literal addresses and reserved
/// names are classified here; a DNS name that resolves to a private address is ``public``
/// by its text, so a server must check the resolved address too.
public enum HostScope: String, Sendable, Hashable, CustomStringConvertible {
    /// 127.0.0.0/8, ::1, `localhost` and `*.localhost`.
    case loopback
    /// RFC 1918, 100.64.0.0/10 (CGNAT), fc00::/7, and the `.internal`, `.local`, `.lan`,
    /// `.home.arpa` names.
    case `private`
    /// 169.254.0.0/16 and fe80::/10 (includes the cloud metadata address 169.254.169.254).
    case linkLocal = "link_local"
    /// 0.0.0.0/8, ::, multicast, broadcast and other addresses nobody should fetch from.
    case unspecified
    /// Anything else.
    case `public`

    /// Whether a provider on the internet can be expected to reach the host.
    public var isPubliclyRoutable: Bool { self == .public }

    public var description: String { rawValue }

    /// Classifies a host as written in a URL (IPv6 may be bracketed).
    public static func classify(host rawHost: String) -> HostScope {
        var host = rawHost.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        if let v4 = parseIPv4(host) { return classify(ipv4: v4) }
        if host.contains(":") {
            if let zone = host.firstIndex(of: "%") { host = String(host[..<zone]) }
            guard let v6 = parseIPv6(host) else { return .unspecified }
            return classify(ipv6: v6)
        }
        if host.isEmpty { return .unspecified }
        if host == "localhost" || host.hasSuffix(".localhost") { return .loopback }
        for suffix in [".internal", ".local", ".lan", ".home.arpa", ".localdomain"] where host.hasSuffix(suffix) {
            return .private
        }
        // A single label ("minio", "ocr-server") only resolves through a local search domain.
        if !host.contains(".") { return .private }
        return .public
    }

    static func classify(ipv4 a: [UInt8]) -> HostScope {
        switch (a[0], a[1]) {
        case (127, _): return .loopback
        case (10, _), (172, 16...31), (192, 168): return .private
        case (100, 64...127): return .private
        case (169, 254): return .linkLocal
        case (0, _): return .unspecified
        case (224...255, _): return .unspecified
        default: return .public
        }
    }

    static func classify(ipv6 a: [UInt8]) -> HostScope {
        if a.allSatisfy({ $0 == 0 }) { return .unspecified }
        if a[0..<15].allSatisfy({ $0 == 0 }) && a[15] == 1 { return .loopback }
        // IPv4-mapped ::ffff:a.b.c.d
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xff && a[11] == 0xff {
            return classify(ipv4: Array(a[12..<16]))
        }
        if a[0] & 0xfe == 0xfc { return .private }
        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 { return .linkLocal }
        if a[0] == 0xff { return .unspecified }
        return .public
    }

    /// Dotted-quad only (no octal or shortened forms: those are not valid URL hosts after
    /// WHATWG normalisation and we refuse to guess).
    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else {
                return nil
            }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        var tailV4: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseIPv4(String(text[text.index(after: lastColon)...])) else { return nil }
            tailV4 = v4
            text = text[...lastColon]
            if text.hasSuffix("::") == false { text = text.dropLast() }
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, let value = UInt16(group, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        let tail = halves.count == 2 ? groups(halves[1]) : []
        guard let tail else { return nil }
        let needed = 8 - tailV4.count / 2
        var all: [UInt16]
        if halves.count == 2 {
            guard head.count + tail.count < needed else { return nil }
            all = head + Array(repeating: 0, count: needed - head.count - tail.count) + tail
        } else {
            guard head.count == needed else { return nil }
            all = head
        }
        var bytes = all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
        bytes += tailV4
        return bytes.count == 16 ? bytes : nil
    }
}
