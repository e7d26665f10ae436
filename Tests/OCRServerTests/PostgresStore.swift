import Foundation
import Logging
import PostgresSupport

@testable import OCRServer

/// PostgreSQL task stores for the tests, from `OCR_TEST_POSTGRES_URL` (`scripts/postgres
/// start`); without it the PostgreSQL cases fail, never skip. Each test takes a schema of
/// its own, so tests run side by side on one server.
enum PostgresStore {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "OCR_TEST_POSTGRES_URL is not set: start a throwaway server with `scripts/postgres start NAME` and export "
                + "OCR_TEST_POSTGRES_URL=<its URL>"
        }
    }

    static var url: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["OCR_TEST_POSTGRES_URL"], !url.isEmpty else {
                throw NotConfigured()
            }
            return url
        }
    }

    static func freshSchema() -> String {
        "ocr_server_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    }

    /// The store URL of `schema`, as a replica is given it (`--store`).
    static func url(schema: String) throws -> String {
        let base = try url
        return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
    }

    static func open(schema: String, replica: String = "test-replica") async throws -> PostgresTaskRepository {
        var options = try PostgresConnectionOptions(url: try url)
        options.schema = schema
        options.maximumConnections = 4
        options.connectTimeout = .seconds(60)
        var logger = Logger(label: "task-store-test")
        logger.logLevel = .warning
        return try await PostgresTaskRepository(options: options, replicaID: replica, logger: logger)
    }
}
