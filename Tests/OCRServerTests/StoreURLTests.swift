import Testing

@testable import OCRServer

/// `--store` takes the ledger's URL syntax, but its errors speak of the store: an operator
/// who never ran the worker should not read about a "ledger" here, and never the URL.
@Suite struct StoreURLTests {
    @Test func aBadStoreURLNamesTheProblemWithoutTheLedgerOrThePassword() {
        for (url, problem) in [
            ("postgres://u:secret@db.internal/ocr?sslmode=bogus", "unknown sslmode bogus"),
            ("postgres://u:secret@db.internal/ocr?schema=Bad-Name", "schema must match"),
            ("postgresql://u:secret@db.internal/ocr?max_connections=0", "max_connections must be a positive integer"),
        ] {
            #expect {
                _ = try TaskDatabase(store: url, environment: [:])
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("invalid --store URL: ") && text.contains(problem)
                    && !text.contains("ledger") && !text.contains("secret")
            }
        }
    }
}
