import Foundation
import JobCore
import Ledger
import PostgresSupport
import TestSupport
import Testing

@Suite("LedgerConfiguration", .tags(.postgres))
struct LedgerConfigurationTests {
    @Test("sqlite URLs: absolute path, relative path, in memory")
    func sqliteURLs() throws {
        #expect(try LedgerConfiguration(url: "sqlite:///var/lib/ocr/ledger.db").backend == .sqliteFile(path: "/var/lib/ocr/ledger.db"))
        #expect(try LedgerConfiguration(url: "sqlite:ledger.db").backend == .sqliteFile(path: "ledger.db"))
        #expect(try LedgerConfiguration(url: "sqlite::memory:").backend == .sqliteInMemory)
        #expect(try LedgerConfiguration(url: "sqlite:///var/lib/ocr/ledger.db").description == "sqlite:///var/lib/ocr/ledger.db")
        #expect(throws: LedgerError.self) { try LedgerConfiguration(url: "sqlite:") }
        #expect(throws: LedgerError.self) { try LedgerConfiguration(url: "mysql://x@y/z") }
        #expect(throws: LedgerError.self) { try LedgerConfiguration(url: "postgres://u@h/d?sslmode=maybe") }
    }

    @Test("postgres URLs: user, password, host, port, database, parameters")
    func postgresURLs() throws {
        let configuration = try LedgerConfiguration(
            url: "postgres://worker:s%40cret@db.internal:6543/ledger?sslmode=require&schema=ocr_ledger&max_connections=4",
            environment: [:])
        guard case .postgres(let options) = configuration.backend else {
            Issue.record("not postgres: \(configuration)")
            return
        }
        #expect(options.host == "db.internal")
        #expect(options.port == 6543)
        #expect(options.username == "worker")
        #expect(options.password == "s@cret")
        #expect(options.database == "ledger")
        #expect(options.tls == .require)
        #expect(options.schema == "ocr_ledger")
        #expect(options.maximumConnections == 4)

        let defaults = try PostgresConnectionOptions(url: "postgresql://127.0.0.1/ocr", environment: [:])
        #expect(defaults.port == 5432)
        #expect(defaults.username == "postgres")
        #expect(defaults.password == nil)
        #expect(defaults.schema == "public")
        #expect(defaults.tls == .prefer)

        let fromEnvironment = try PostgresConnectionOptions(url: "postgres://u@h/d", environment: ["PGPASSWORD": "envpw"])
        #expect(fromEnvironment.password == "envpw")

        #expect(throws: PostgresConfigurationError.self) {
            try PostgresConnectionOptions(url: "postgres://u@h/d?schema=Robert'); DROP", environment: [:])
        }
        #expect(throws: PostgresConfigurationError.self) { try PostgresConnectionOptions(url: "postgres://u@h/d?sslmode=maybe", environment: [:]) }
        #expect(try PostgresConnectionOptions(url: "postgres://u@h/d?sslmode=verify-full", environment: [:]).tls == .verifyFull)
        #expect(try PostgresConnectionOptions(url: "postgres://u@h/d?sslmode=disable", environment: [:]).tls == .disable)
        #expect(throws: PostgresConfigurationError.self) { try PostgresConnectionOptions(url: "postgres:///d", environment: [:]) }
    }

    @Test("the password never shows: description, debugDescription, dump, interpolation, errors")
    func passwordIsRedacted() throws {
        let secret = "hunter2-very-secret"
        let configuration = try LedgerConfiguration(url: "postgres://worker:\(secret)@db:5432/ocr", environment: [:])
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.description, configuration.debugDescription, "\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains(secret), "\(text)")
        }
        #expect(configuration.description == "postgres://worker:***@db:5432/ocr")
        guard case .postgres(let options) = configuration.backend else { return }
        var dumpedOptions = ""
        dump(options, to: &dumpedOptions)
        #expect(!dumpedOptions.contains(secret))
        #expect(!String(reflecting: options).contains(secret))

        do {
            _ = try LedgerConfiguration(url: "redis://worker:\(secret)@db")
        } catch {
            #expect(!"\(error)".contains(secret))
        }
    }

    @Test("makeLedger opens an in-memory SQLite ledger from its URL")
    func makeInMemory() async throws {
        let ledger = try await makeLedger(url: "sqlite::memory:")
        let (record, isNew) = try await ledger.accept(jobID: "j", fingerprint: "f", at: at(0))
        #expect(isNew)
        #expect(try await ledger.record(jobID: "j") == record)
        try await ledger.ping()
        await ledger.close()
    }

    @Test("an unreachable PostgreSQL fails the open with unavailable within the connect timeout")
    func unreachablePostgres() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        await expectLedgerError(.unavailable) {
            _ = try await makeLedger(url: "postgres://postgres@127.0.0.1:1/ocr?sslmode=disable&connect_timeout=2")
        }
        #expect(clock.now - start < .seconds(10))
    }
}
