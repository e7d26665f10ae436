import Foundation
import Logging
import PostgresSupport
import TestSupport

/// PostgreSQL for these tests (``TestPostgres``), one fresh schema per test.
enum TestDatabase {
    /// The test server's options with a schema of the test's own.
    static func options() throws -> PostgresConnectionOptions {
        try TestPostgres.options(schemaPrefix: "support_test")
    }

    static var logger: Logger {
        var logger = Logger(label: "postgres-support-test")
        logger.logLevel = .warning
        return logger
    }

    /// Runs `body` with a pool on `options`, closed afterwards whatever happens.
    static func with<T>(_ options: PostgresConnectionOptions, _ body: (PostgresPool) async throws -> T) async throws -> T {
        let pool = try PostgresPool(options: options, logger: logger)
        do {
            let result = try await body(pool)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }
}
