import Foundation
public import PostgresSupport

/// The PostgreSQL server the tests use: `OCR_TEST_POSTGRES_URL`, which `scripts/test`
/// sets after starting a throwaway server. Without it the PostgreSQL cases fail, never
/// skip. Each test works in a schema of its own, so suites run in parallel on one server.
public enum TestPostgres {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            "OCR_TEST_POSTGRES_URL is not set: start a throwaway server with `scripts/postgres start NAME` and export "
                + "OCR_TEST_POSTGRES_URL=<its URL> (scripts/test does both)"
        }
    }

    /// The server's URL.
    public static var url: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["OCR_TEST_POSTGRES_URL"], !url.isEmpty else {
                throw NotConfigured()
            }
            return url
        }
    }

    /// `prefix_` and 16 hex digits: a schema no other test uses.
    public static func freshSchema(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    }

    /// The server's URL with a fresh schema, as a process is given it.
    public static func url(schemaPrefix prefix: String) throws -> String {
        let base = try url
        return base + (base.contains("?") ? "&" : "?") + "schema=\(freshSchema(prefix))"
    }

    /// The server's options with a fresh schema. The connect timeout is long: these
    /// suites run beside CPU-heavy ones on two cores.
    public static func options(schemaPrefix prefix: String) throws -> PostgresConnectionOptions {
        var options = try PostgresConnectionOptions(url: try url)
        options.schema = freshSchema(prefix)
        options.connectTimeout = .seconds(60)
        return options
    }
}
