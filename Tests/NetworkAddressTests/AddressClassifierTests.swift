import NetworkAddress
import Testing

/// The one address classifier (``HostScope``) and the policy built on it
/// (``AddressPolicy``), over a table of every range the downloads must know.
@Suite struct AddressClassifierTests {
    static let table: [(String, HostScope)] = [
        // Loopback, private, link-local.
        ("127.0.0.1", .loopback), ("127.255.0.9", .loopback), ("::1", .loopback),
        ("10.1.2.3", .private), ("172.16.0.1", .private), ("172.31.9.9", .private), ("192.168.0.1", .private),
        ("fc00::1", .private), ("fd12:3456::1", .private),
        ("169.254.1.1", .linkLocal), ("fe80::1", .linkLocal), ("febf::1", .linkLocal),
        // CGNAT.
        ("100.64.0.1", .private), ("100.127.255.254", .private),
        // Cloud metadata services.
        ("169.254.169.254", .metadata), ("169.254.170.2", .metadata), ("100.100.100.200", .metadata),
        ("192.0.0.192", .metadata), ("fd00:ec2::254", .metadata), ("fd00:ec2::23", .metadata),
        ("metadata.google.internal", .metadata), ("METADATA.GOOGLE.INTERNAL.", .metadata), ("instance-data", .metadata),
        // 0/8, multicast, broadcast, 240/4.
        ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("::", .unspecified),
        ("224.0.0.1", .unspecified), ("239.255.255.250", .unspecified), ("ff02::1", .unspecified),
        ("255.255.255.255", .unspecified), ("240.0.0.1", .unspecified),
        // Documentation, benchmarking, IETF assignments.
        ("192.0.2.1", .reserved), ("198.51.100.7", .reserved), ("203.0.113.9", .reserved), ("2001:db8::1", .reserved),
        ("3fff::1", .reserved), ("198.18.0.1", .reserved), ("198.19.255.254", .reserved), ("192.0.0.1", .reserved),
        ("192.0.0.170", .reserved), ("2001:2::1", .reserved), ("100::1", .reserved),
        // IPv4-mapped: the IPv4 address itself.
        ("::ffff:127.0.0.1", .loopback), ("::ffff:169.254.169.254", .metadata), ("::ffff:a9fe:101", .linkLocal),
        ("::ffff:8.8.8.8", .public),
        // IPv4-compatible ::/96 (deprecated): the embedded address, at least reserved.
        ("::127.0.0.1", .reserved), ("::a9fe:a9fe", .metadata), ("::8.8.8.8", .reserved),
        // NAT64 64:ff9b::/96 and 64:ff9b:1::/48: the embedded address, at least private.
        ("64:ff9b::127.0.0.1", .loopback), ("64:ff9b::a9fe:a9fe", .metadata), ("64:ff9b::a9fe:101", .linkLocal),
        ("64:ff9b::10.0.0.1", .private), ("64:ff9b::8.8.8.8", .private),
        ("64:ff9b:1::a9fe:a9fe", .metadata), ("64:ff9b:1:a9fe:a9:fe00::", .metadata), ("64:ff9b:1::808:808", .private),
        // 6to4 2002::/16.
        ("2002:7f00:1::1", .loopback), ("2002:a9fe:a9fe::", .metadata), ("2002:c0a8:101::1", .private),
        ("2002:808:808::1", .private),
        // Teredo 2001::/32: the server's address and the client's (inverted).
        ("2001:0:a9fe:a9fe::1", .metadata), ("2001:0:808:808:0:0:80ff:fffe", .loopback),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", .private),
        // Public controls.
        ("8.8.8.8", .public), ("1.1.1.1", .public), ("172.32.0.1", .public), ("100.128.0.1", .public),
        ("169.253.255.255", .public), ("198.20.0.1", .public), ("192.0.1.1", .public), ("2606:4700::1111", .public),
        ("2001:4860:4860::8888", .public), ("example.com", .public),
    ]

    @Test(arguments: table)
    func classifies(host: String, expected: HostScope) {
        #expect(HostScope.classify(host: host) == expected, "\(host)")
        if let address = IPAddress(host) {
            #expect(HostScope.classify(address: address) == expected, "\(host) as an address")
            #expect(IPAddress(address.description) == address, "\(address) reads back")
        }
    }

    @Test func everyNonPublicAddressIsNotPubliclyRoutable() {
        for (host, scope) in Self.table where scope != .public {
            #expect(!HostScope.classify(host: host).isPubliclyRoutable, "\(host)")
        }
    }

    @Test func linkLocalMetadataAndReservedAreNeverPermitted() {
        for policy in [AddressPolicy.publicOnly, .allowingPrivate, AddressPolicy(allowsLoopback: true, allowsPrivate: false)] {
            for scope in [HostScope.linkLocal, .metadata, .unspecified, .reserved] {
                #expect(!policy.permits(scope), "\(policy) permits \(scope)")
            }
            #expect(policy.permits(.public))
        }
        #expect(!AddressPolicy.publicOnly.permits(.loopback))
        #expect(!AddressPolicy.publicOnly.permits(.private))
        #expect(AddressPolicy.allowingPrivate.permits(.loopback))
        #expect(AddressPolicy.allowingPrivate.permits(.private))
    }

    @Test func addressTextForms() {
        #expect(IPAddress("[::1]")?.description == "::1")
        #expect(IPAddress("fe80::1%eth0")?.description == "fe80::1")
        #expect(IPAddress("2001:db8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("::ffff:1.2.3.4")?.description == "::ffff:102:304")
        #expect(IPAddress("1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        for invalid in ["127.1", "010.0.0.1", "1.2.3.4.5", "+1.2.3.4", "::g", "1::2::3", "256.0.0.1", "example.com"] {
            #expect(IPAddress(invalid) == nil, "\(invalid)")
        }
    }

    @Test(arguments: [
        ("127.0.0.1", HostScope.loopback), ("127.9.9.9", .loopback), ("localhost", .loopback),
        ("api.localhost", .loopback), ("[::1]", .loopback), ("::ffff:127.0.0.1", .loopback),
        ("10.0.0.1", .private), ("172.16.5.4", .private), ("172.31.255.255", .private),
        ("192.168.1.1", .private), ("100.64.0.1", .private), ("fd00::1", .private),
        ("minio", .private), ("db.internal", .private), ("printer.local", .private),
        ("169.254.169.254", .metadata), ("[fe80::1%25eth0]", .linkLocal), ("fe80::abcd", .linkLocal),
        ("0.0.0.0", .unspecified), ("::", .unspecified), ("224.0.0.1", .unspecified),
        ("8.8.8.8", .public), ("172.32.0.1", .public), ("example.com", .public),
        ("2001:db8::1", .reserved), ("EXAMPLE.COM.", .public), ("::ffff:8.8.8.8", .public),
    ])
    /// Host names as well as literals: names a resolver would answer privately count as private.
    func hostScopes(host: String, expected: HostScope) {
        #expect(HostScope.classify(host: host) == expected, "\(host)")
    }
}
