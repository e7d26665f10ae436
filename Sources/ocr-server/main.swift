import ArgumentParser
import Foundation
import Logging
import JSONLogging
import OCRServer
import ServiceLifecycle

/// ocr-server: a self-hosted implementation of the PicWish document OCR task API on
/// Tesseract. Every flag also reads an environment variable (flags win).
@main
struct OCRServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocr-server",
        abstract: "The PicWish document OCR task API, self-hosted on Tesseract.",
        discussion: """
            Environment (flags win): OCR_SERVER_HOST, OCR_SERVER_PORT, OCR_SERVER_API_KEYS (comma list), \
            OCR_SERVER_DATA_DIR, OCR_SERVER_WORKERS, OCR_SERVER_SIGNING_SECRET, OCR_SERVER_PUBLIC_URL, \
            OCR_SERVER_RATE_LIMIT, OCR_SERVER_RESULT_TTL, OCR_SERVER_TIMEOUT, OCR_SERVER_ALLOW_PRIVATE_SOURCES=1, \
            OCR_SERVER_ALLOW_ANY_PORT=1, LOG_LEVEL.
            Without API keys the development key "dev-key" is accepted (and a warning logged): \
            set OCR_SERVER_API_KEYS in any shared deployment.
            """)

    static let developmentKey = "dev-key"

    @Option(help: "Address to bind (env OCR_SERVER_HOST).") var host: String?
    @Option(help: "Port to bind; 0 picks a free one (env OCR_SERVER_PORT).") var port: Int?
    @Option(name: .customLong("api-key"), help: "An accepted X-API-KEY; repeatable (env OCR_SERVER_API_KEYS, comma list).")
    var apiKeys: [String] = []
    @Option(help: "Directory for uploads, scratch files and results (env OCR_SERVER_DATA_DIR).") var dataDir: String?
    @Option(help: "Tesseract engines, i.e. tasks processed at once (default: cores; env OCR_SERVER_WORKERS).")
    var workers: Int?
    @Option(help: "Largest upload or download in MB (default 200).") var maxDocumentMb: Int = 200
    @Option(help: "Most pages per document.") var maxPages: Int = 500
    @Option(help: "Per-key requests per second; 0 = unlimited (env OCR_SERVER_RATE_LIMIT).") var rateLimit: Double?
    @Option(help: "Lifetime of result links and records in seconds (default 3600; env OCR_SERVER_RESULT_TTL).")
    var resultTtl: Double?
    @Option(help: "Processing timeout per task in seconds (default 600; env OCR_SERVER_TIMEOUT).") var timeout: Double?
    @Option(help: "Timeout of an image_url download in seconds.") var downloadTimeout: Double = 120
    @Option(help: "HMAC secret of result links; random per start if unset (env OCR_SERVER_SIGNING_SECRET).")
    var signingSecret: String?
    @Option(help: "Public base URL of result links, e.g. https://ocr.example.com (env OCR_SERVER_PUBLIC_URL).")
    var publicUrl: String?
    @Option(help: "Resolution PDF pages are rasterised at.") var dpi: Int = 300
    @Flag(help: "Allow image_url hosts resolving to loopback/private/link-local addresses (env OCR_SERVER_ALLOW_PRIVATE_SOURCES=1).")
    var allowPrivateSources = false
    @Flag(help: "Development only: allow image_url ports other than 80 and 443 (env OCR_SERVER_ALLOW_ANY_PORT=1).")
    var allowAnyPort = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func flag(_ name: String) -> Bool { ["1", "true", "yes"].contains(env(name)?.lowercased() ?? "") }

        let logger = JSONLogging.bootstrap(level: env("LOG_LEVEL") ?? "info", label: "ocr-server")

        var keys = apiKeys
        if keys.isEmpty, let list = env("OCR_SERVER_API_KEYS") {
            keys = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if keys.isEmpty {
            keys = [Self.developmentKey]
            logger.warning("no API keys configured: accepting the development key \"\(Self.developmentKey)\"")
        }
        let secret = signingSecret ?? env("OCR_SERVER_SIGNING_SECRET")
        if secret == nil { logger.info("no signing secret configured: result links end with this process") }

        let configuration = ServerConfiguration(
            host: host ?? env("OCR_SERVER_HOST") ?? "127.0.0.1",
            port: port ?? env("OCR_SERVER_PORT").flatMap(Int.init) ?? 8080,
            apiKeys: keys,
            dataDirectory: URL(fileURLWithPath: dataDir ?? env("OCR_SERVER_DATA_DIR") ?? NSTemporaryDirectory() + "/ocr-server"),
            workers: workers ?? env("OCR_SERVER_WORKERS").flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount,
            maxDocumentBytes: Int64(maxDocumentMb) * 1024 * 1024,
            maxPages: maxPages,
            resultLifetime: resultTtl ?? env("OCR_SERVER_RESULT_TTL").flatMap(Double.init) ?? 3600,
            processingTimeout: timeout ?? env("OCR_SERVER_TIMEOUT").flatMap(Double.init) ?? 600,
            downloadTimeout: downloadTimeout,
            requestsPerSecond: rateLimit ?? env("OCR_SERVER_RATE_LIMIT").flatMap(Double.init),
            signingSecret: secret.map { Array($0.utf8) },
            publicBaseURL: publicUrl ?? env("OCR_SERVER_PUBLIC_URL"),
            allowPrivateSources: allowPrivateSources || flag("OCR_SERVER_ALLOW_PRIVATE_SOURCES"),
            allowAnyPort: allowAnyPort || flag("OCR_SERVER_ALLOW_ANY_PORT"),
            rasterDPI: dpi)

        let keyCount = keys.count
        let app = try OCRServer.makeApplication(configuration: configuration, logger: logger) { port in
            logger.info(
                "listening",
                metadata: [
                    "host": "\(configuration.host)", "port": "\(port)", "workers": "\(configuration.workers)",
                    "keys": "\(keyCount)",
                ])
        }
        try await app.runService()
    }
}
