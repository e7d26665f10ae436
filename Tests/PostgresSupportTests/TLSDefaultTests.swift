import PostgresSupport
import Testing

@Suite struct TLSDefaultTests {
    @Test("without sslmode, a non-loopback host gets verify-full; loopback keeps prefer")
    func defaultsByHost() throws {
        for host in ["db.internal", "10.0.0.5", "[2001:db8::1]", "postgres", "127.0.0.1.example.com"] {
            #expect(try PostgresConnectionOptions(url: "postgres://u@\(host)/d", environment: [:]).tls == .verifyFull, "\(host)")
        }
        for host in ["127.0.0.1", "localhost", "[::1]", "127.3.4.5", "LOCALHOST"] {
            #expect(try PostgresConnectionOptions(url: "postgres://u@\(host)/d", environment: [:]).tls == .prefer, "\(host)")
        }
    }

    @Test("prefer and require are explicit opt-ins; verify-ca and verify-full verify")
    func explicitModes() throws {
        func mode(_ sslmode: String) throws -> PostgresConnectionOptions.TLSMode {
            try PostgresConnectionOptions(url: "postgres://u@db.internal/d?sslmode=\(sslmode)", environment: [:]).tls
        }
        #expect(try mode("prefer") == .prefer)
        #expect(try mode("allow") == .prefer)
        #expect(try mode("require") == .require)
        #expect(try mode("disable") == .disable)
        #expect(try mode("verify-ca") == .verifyFull)
        #expect(try mode("verify-full") == .verifyFull)
        #expect(throws: PostgresConfigurationError.self) { try mode("VERIFY") }
    }

    @Test("the memberwise default also verifies a remote host")
    func memberwiseDefault() {
        #expect(PostgresConnectionOptions(host: "db.internal").tls == .verifyFull)
        #expect(PostgresConnectionOptions(host: "127.0.0.1").tls == .prefer)
        #expect(PostgresConnectionOptions(host: "db.internal", tls: .require).tls == .require)
    }
}
