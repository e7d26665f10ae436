public import PostgresNIO

extension PostgresLedgerOptions {
    /// The PostgresNIO client configuration for these options: one place for the TLS
    /// rule (`prefer` and `require` are explicit opt-ins that encrypt without verifying
    /// the server; `verifyFull` verifies it, against `rootCertificatePath` when given), so
    /// the ledger, the shared request budget, the duration store and ocr-server's task
    /// store connect alike. `maximumConnections` defaults to the options' pool size.
    public func clientConfiguration(maximumConnections: Int? = nil) -> PostgresClient.Configuration {
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
        configuration.options.maximumConnections = maximumConnections ?? self.maximumConnections
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }
}
