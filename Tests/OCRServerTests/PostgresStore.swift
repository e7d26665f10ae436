import Foundation
import Logging
import PostgresSupport
import TestSupport

@testable import OCRServer

/// PostgreSQL task stores for the tests, from `OCR_TEST_POSTGRES_URL` (`scripts/postgres
/// start`); without it the PostgreSQL cases fail, never skip. Each test takes a schema of
/// its own, so tests run side by side on one server.
enum PostgresStore {
    static func freshSchema() -> String { TestPostgres.freshSchema("ocr_server_test") }

    /// The store URL of `schema`, as a replica is given it (`--store`).
    static func url(schema: String) throws -> String {
        let base = try TestPostgres.url
        return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
    }

    static func open(schema: String, replica: String = "test-replica") async throws -> PostgresTaskRepository {
        var options = try PostgresConnectionOptions(url: try TestPostgres.url)
        options.schema = schema
        options.maximumConnections = 4
        options.connectTimeout = .seconds(60)
        var logger = Logger(label: "task-store-test")
        logger.logLevel = .warning
        return try await PostgresTaskRepository(options: options, replicaID: replica, logger: logger)
    }
}
