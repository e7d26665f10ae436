/// An IPv4 or IPv6 address: 4 or 16 bytes in network order.
///
/// Parsed from the text forms a URL host or a resolver uses: dotted quad (no octal, hex or
/// shortened forms: those are not valid URL hosts after WHATWG normalisation and we refuse
/// to guess), and IPv6 with or without brackets, `::` compression, a dotted IPv4 tail and a
/// zone (`%eth0`, dropped). ``description`` is a form `inet_pton` reads back.
///
/// Dotted quads with leading zeros are not addresses here (`inet_pton` refuses them and
/// `inet_aton` reads them as octal): such a host is a name, resolved and then checked.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// `bytes` must hold 4 or 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init?(_ text: String) {
        var host = Substring(text)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if let v4 = Self.parseIPv4(host) {
            bytes = v4
            return
        }
        guard host.contains(":") else { return nil }
        if let zone = host.firstIndex(of: "%") { host = host[..<zone] }
        guard let v6 = Self.parseIPv6(host) else { return nil }
        bytes = v6
    }

    public var isIPv4: Bool { bytes.count == 4 }

    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        // The longest run of two or more zero groups becomes "::" (RFC 5952).
        var best: Range<Int>?
        var start: Int?
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if start == nil { start = index }
            } else if let first = start {
                if index - first >= 2, index - first > best?.count ?? 0 { best = first..<index }
                start = nil
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard let best else { return hex.joined(separator: ":") }
        return hex[..<best.lowerBound].joined(separator: ":") + "::" + hex[best.upperBound...].joined(separator: ":")
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            // No leading zeros: "010" is octal to inet_aton, so it is not an address we read.
            guard !part.isEmpty, part.count <= 3, part.count == 1 || part.first != "0",
                part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber), let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ input: Substring) -> [UInt8]? {
        var text = input
        var tailV4: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseIPv4(text[text.index(after: lastColon)...]) else { return nil }
            tailV4 = v4
            text = text[...lastColon]
            if !text.hasSuffix("::") { text = text.dropLast() }
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, group.allSatisfy(\.isHexDigit), let value = UInt16(group, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let head = groups(halves[0]), let tail = halves.count == 2 ? groups(halves[1]) : [] else { return nil }
        let needed = 8 - tailV4.count / 2
        let all: [UInt16]
        if halves.count == 2 {
            guard head.count + tail.count < needed else { return nil }
            all = head + Array(repeating: 0, count: needed - head.count - tail.count) + tail
        } else {
            guard head.count == needed else { return nil }
            all = head
        }
        let bytes = all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] } + tailV4
        return bytes.count == 16 ? bytes : nil
    }
}
