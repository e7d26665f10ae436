import Foundation
import Logging
import PostgresSupport

/// PostgreSQL for these tests: `OCR_TEST_POSTGRES_URL` (scripts/test starts a server and
/// sets it; without it the PostgreSQL cases fail, never skip), one fresh schema per test.
enum TestDatabase {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "OCR_TEST_POSTGRES_URL is not set: start a throwaway server with `scripts/postgres start NAME` and export "
                + "OCR_TEST_POSTGRES_URL=<its URL> (scripts/test does both)"
        }
    }

    /// The test server's options with a schema of the test's own.
    static func options() throws -> PostgresConnectionOptions {
        guard let url = ProcessInfo.processInfo.environment["OCR_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw NotConfigured()
        }
        var options = try PostgresConnectionOptions(url: url)
        options.schema = "support_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        // The suites run beside CPU-heavy ones on two cores.
        options.connectTimeout = .seconds(60)
        return options
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
