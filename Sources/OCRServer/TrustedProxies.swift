import NetworkAddress
import OCRTaskAPI

/// The peers whose forwarded scheme (`X-Forwarded-Proto`, `Forwarded: proto=`) ocr-server
/// believes when it writes result links without a configured public URL.
///
/// ocr-server serves plain HTTP; TLS ends at a proxy in front of it (an ingress, a load
/// balancer, a sidecar), which says so in those headers. The default trusts loopback and
/// private peers (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, and the IPv6 forms of
/// those): where such proxies run in a cluster or on the host. A header from any other
/// peer is ignored, so a client that reaches the server directly gets links of the
/// scheme it used. What is at stake is small either way (the header only changes the
/// scheme of the links in the reply to that same request), so the default favours the
/// common case; `OCR_SERVER_TRUSTED_PROXIES` narrows it to the proxies' own networks, or
/// `none`.
public struct TrustedProxies: Sendable, Equatable, CustomStringConvertible {
    /// A network: an address and how many leading bits of it must match.
    struct Network: Sendable, Equatable {
        var address: IPAddress
        var prefix: Int

        func contains(_ candidate: IPAddress) -> Bool {
            guard candidate.bytes.count == address.bytes.count else { return false }
            var bits = prefix
            for (a, b) in zip(address.bytes, candidate.bytes) where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if a & mask != b & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    var includesPrivateNetworks: Bool
    var networks: [Network]

    /// Loopback and private peers (``HostScope/loopback``, ``HostScope/private``).
    public static let privateNetworks = TrustedProxies(includesPrivateNetworks: true, networks: [])
    /// Nobody: forwarded headers are never read.
    public static let none = TrustedProxies(includesPrivateNetworks: false, networks: [])

    init(includesPrivateNetworks: Bool, networks: [Network]) {
        self.includesPrivateNetworks = includesPrivateNetworks
        self.networks = networks
    }

    /// From a setting: `none`, or a comma list of `private`, addresses and networks
    /// (`10.2.0.0/16`, `fd00::/8`).
    public init(_ text: String) throws(Problem) {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if items == ["none"] {
            self = .none
            return
        }
        var includesPrivate = false
        var networks: [Network] = []
        for item in items {
            if item == "private" {
                includesPrivate = true
                continue
            }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let address = IPAddress(String(parts[0])) else {
                throw Problem(description: "\"\(item.prefix(60))\" is not an address, a network, private or none")
            }
            let bits = address.bytes.count * 8
            let prefix = parts.count == 2 ? Int(parts[1]) : bits
            guard let prefix, (0...bits).contains(prefix) else {
                throw Problem(description: "\"\(item.prefix(60))\": the prefix length must be from 0 to \(bits)")
            }
            networks.append(Network(address: address, prefix: prefix))
        }
        guard includesPrivate || !networks.isEmpty else { throw Problem(description: "no address, network, private or none given") }
        self.init(includesPrivateNetworks: includesPrivate, networks: networks)
    }

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether a peer at `address` is trusted; nil (no peer address) is not.
    func trusts(_ address: IPAddress?) -> Bool {
        guard var address else { return false }
        // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
        if address.bytes.count == 16, address.bytes.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
            let v4 = IPAddress(bytes: Array(address.bytes.suffix(4)))
        {
            address = v4
        }
        if includesPrivateNetworks, [.loopback, .private].contains(HostScope.classify(address: address)) { return true }
        return networks.contains { $0.contains(address) }
    }

    public var description: String {
        let parts = (includesPrivateNetworks ? ["private"] : []) + networks.map { "\($0.address)/\($0.prefix)" }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}
