import Foundation
import Testing

@testable import OCRServer

/// ocr-server's settings, read in memory (no process): layers, range checks that name the
/// setting and its flag, secrets kept out of errors, and Kubernetes service links that
/// neither set nor break a setting.
@Suite struct ServerSettingsTests {
    static func configuration(
        environment: [String: String] = [:], flags: [String: String?] = [:], file: String? = nil
    ) async throws -> ServerConfiguration {
        try await ServerSettings(file: file, environment: environment, flags: flags).configuration(apiKeys: ["k"])
    }

    static func problem(environment: [String: String] = [:], flags: [String: String?] = [:]) async -> String? {
        do {
            _ = try await configuration(environment: environment, flags: flags)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func defaults() async throws {
        let configuration = try await Self.configuration()
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.maxDocumentBytes == 200 * 1_048_576 && configuration.concurrentDownloads == 8)
        #expect(configuration.maxAttempts == 3 && configuration.resolveTimeout == 10)
        #expect(configuration.trustedProxies == .privateNetworks && configuration.taskDatabase == .dataDirectory)
    }

    /// Flags win over the environment, the environment over the file.
    @Test func flagsThenEnvironmentThenFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-server-\(UUID()).env")
        try "# settings\nOCR_SERVER_WORKERS=3\nOCR_SERVER_DPI=150\nOCR_SERVER_TIMEOUT=90\n".write(
            to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try await Self.configuration(
            environment: ["OCR_SERVER_WORKERS": "5", "OCR_SERVER_DPI": "200"], flags: ["OCR_SERVER_WORKERS": "7"],
            file: file.path)
        #expect(configuration.workers == 7)
        #expect(configuration.rasterDPI == 200)
        #expect(configuration.processingTimeout == 90)
    }

    @Test func aFileLineWithoutEqualsIsAnErrorNamingTheLineNotItsText() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-server-\(UUID()).env")
        try "OCR_SERVER_WORKERS=3\nOCR_SERVER_SIGNING_SECRET hunter2\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        await #expect {
            _ = try await ServerSettings(file: file.path, environment: [:])
        } throws: { error in
            "\(error)".hasSuffix(":2: expected NAME=value") && !"\(error)".contains("hunter2")
        }
    }

    /// Every number out of range, or not a number, stops the start with the setting's
    /// name and flag; none falls back to its default.
    @Test func outOfRangeValuesNameTheSetting() async {
        let cases: [(name: String, value: String, expected: String)] = [
            ("OCR_SERVER_WORKERS", "0", "OCR_SERVER_WORKERS (--workers) must be a whole number from 1 to 256, got \"0\""),
            ("OCR_SERVER_HTTP_PORT", "70000", "OCR_SERVER_HTTP_PORT (--port) must be a whole number from 0 to 65535"),
            ("OCR_SERVER_RATE_LIMIT", "-1", "OCR_SERVER_RATE_LIMIT (--rate-limit) must be a number from 0 to 1000000"),
            ("OCR_SERVER_TIMEOUT", "nan", "OCR_SERVER_TIMEOUT (--timeout) must be a number from 1 to 86400"),
            ("OCR_SERVER_DRAIN_TIMEOUT", "1e9", "OCR_SERVER_DRAIN_TIMEOUT (--drain-timeout-seconds)"),
            ("OCR_SERVER_MAX_PAGE_MEGAPIXELS", "9999999999999", "OCR_SERVER_MAX_PAGE_MEGAPIXELS (--max-page-megapixels)"),
            ("OCR_SERVER_DOWNLOADS", "many", "OCR_SERVER_DOWNLOADS (--downloads) must be a whole number from 1 to 1024"),
            ("OCR_SERVER_MAX_ATTEMPTS", "0", "OCR_SERVER_MAX_ATTEMPTS (--max-attempts) must be a whole number from 1 to 100"),
            ("OCR_SERVER_ALLOW_ANY_PORT", "maybe", "OCR_SERVER_ALLOW_ANY_PORT (--allow-any-port) must be true or false"),
            ("OCR_SERVER_PUBLIC_URL", "ftp://x", "OCR_SERVER_PUBLIC_URL (--public-url) must be an http or https URL"),
            ("OCR_SERVER_TRUSTED_PROXIES", "10.0.0.0/40", "OCR_SERVER_TRUSTED_PROXIES (--trusted-proxies): \"10.0.0.0/40\""),
        ]
        for (name, value, expected) in cases {
            let fromEnvironment = await Self.problem(environment: [name: value])
            #expect(fromEnvironment?.contains(expected) == true, "\(name)=\(value): \(fromEnvironment ?? "accepted")")
            let fromFlag = await Self.problem(flags: [name: value])
            #expect(fromFlag?.contains(expected) == true, "flag \(name)=\(value): \(fromFlag ?? "accepted")")
        }
    }

    @Test func secretsNeverShowInErrors() async {
        let problem = await Self.problem(environment: [
            "OCR_SERVER_STORE": "postgres://ocr:hunter2@db.internal/ocr?sslmode=bogus", "OCR_SERVER_SHARED_DIR": "/s",
        ])
        #expect(problem?.contains("unknown sslmode bogus") == true, "\(problem ?? "accepted")")
        #expect(problem?.contains("hunter2") == false)
        let withoutShared = await Self.problem(environment: ["OCR_SERVER_STORE": "postgres://ocr:hunter2@db.internal/ocr"])
        #expect(withoutShared?.contains("OCR_SERVER_SHARED_DIR (--shared-dir)") == true, "\(withoutShared ?? "accepted")")
        #expect(withoutShared?.contains("hunter2") == false)
    }

    /// What the kubelet injects for a Service named `ocr-server` (service links) is not a
    /// setting: the start neither fails on them nor takes the port from them.
    @Test func kubernetesServiceLinksAreNotSettings() async throws {
        let links = [
            "OCR_SERVER_PORT": "tcp://10.0.0.7:8080", "OCR_SERVER_PORT_8080_TCP": "tcp://10.0.0.7:8080",
            "OCR_SERVER_PORT_8080_TCP_PROTO": "tcp", "OCR_SERVER_PORT_8080_TCP_PORT": "8080",
            "OCR_SERVER_PORT_8080_TCP_ADDR": "10.0.0.7", "OCR_SERVER_SERVICE_HOST": "10.0.0.7",
            "OCR_SERVER_SERVICE_PORT": "8080", "OCR_SERVER_SERVICE_PORT_HTTP": "8080",
        ]
        for name in links.keys { #expect(ServerSettings.isServiceLink(name), "\(name)") }
        let settings = try await ServerSettings(environment: links.merging(["OCR_SERVER_HTTP_PORT": "9090"]) { $1 })
        #expect(settings.notices.isEmpty)
        let configuration = try settings.configuration(apiKeys: ["k"])
        #expect(configuration.port == 9090)
        #expect(configuration.host == "127.0.0.1")
        // No setting has a service link's name.
        for name in ServerSettings.flags.keys { #expect(!ServerSettings.isServiceLink(name), "\(name)") }
        // A port given the old way is not read, and said so.
        let old = try await ServerSettings(environment: ["OCR_SERVER_PORT": "9000"])
        #expect(old.notices.first?.contains("OCR_SERVER_HTTP_PORT") == true)
        #expect(try old.configuration(apiKeys: ["k"]).port == 8080)
    }

    @Test func apiKeysFromFlagsAndEnvironment() async throws {
        #expect(try await ServerSettings(environment: ["OCR_SERVER_API_KEYS": " a, b ,,c"]).apiKeys == ["a", "b", "c"])
        let flagged = try await ServerSettings(
            environment: ["OCR_SERVER_API_KEYS": "a"], flags: ["OCR_SERVER_API_KEYS": "x,y"])
        #expect(flagged.apiKeys == ["x", "y"])
    }
}
