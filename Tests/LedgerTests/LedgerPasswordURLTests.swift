import Foundation
import Ledger
import PostgresSupport
import TestSupport
import Testing

@Suite(.tags(.postgres)) struct LedgerPasswordURLTests {
    @Test("OCR_LEDGER_PASSWORD joins the URL percent-encoded and parses back exactly")
    func addsPassword() throws {
        let secret = "p@ss:w/rd?#%&= é"
        let url = try LedgerConfiguration.url("postgres://worker@db.internal:5432/ocr?sslmode=require", withPassword: secret)
        let options = try PostgresConnectionOptions(url: url, environment: ["PGPASSWORD": "other"])
        #expect(options.password == secret)
        #expect(options.username == "worker")
        #expect(options.tls == .require)
        #expect(!LedgerConfiguration(backend: .postgres(options)).description.contains("w/rd"))
        let noUser = try LedgerConfiguration.url("postgresql://db/ocr", withPassword: "x")
        #expect(try PostgresConnectionOptions(url: noUser, environment: [:]).password == "x")
    }

    @Test("a second password, or a non-postgres URL, is an error that shows neither")
    func refuses() {
        for url in ["postgres://u:first@db/ocr", "sqlite:///x.db", "", "postgres:///ocr"] {
            do {
                _ = try LedgerConfiguration.url(url, withPassword: "s3cr3t-second")
                Issue.record("accepted \(url)")
            } catch {
                #expect(!"\(error)".contains("s3cr3t"))
                #expect(!"\(error)".contains("first"))
            }
        }
    }
}
