public import PostgresNIO

extension PostgresConnectionOptions {
    /// The PostgresNIO client configuration for these options: one place for the TLS rule
    /// (`prefer` and `require` are explicit opt-ins that encrypt without verifying the
    /// server; `verifyFull` verifies it, against `rootCertificatePath` when given), the
    /// connect timeout (TCP and start-up handshake) and the server-side timeouts, sent as
    /// start-up parameters so every session of the pool has them from its first statement.
    public var clientConfiguration: PostgresClient.Configuration {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        var verified = TLSConfiguration.makeClientConfiguration()
        verified.certificateVerification = .fullVerification
        if let rootCertificatePath { verified.trustRoots = .file(rootCertificatePath) }
        let tls: PostgresClient.Configuration.TLS =
            switch self.tls {
            case .disable: .disable
            case .prefer: .prefer(unverified)
            case .require: .require(unverified)
            case .verifyFull: .require(verified)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// The server-side timeouts that are set, as start-up parameters (milliseconds, the
    /// settings' default unit).
    var startupParameters: [(String, String)] {
        serverTimeouts.compactMap { name, timeout in
            guard let timeout else { return nil }
            let (seconds, attoseconds) = timeout.components
            return (name, String(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        }
    }
}
