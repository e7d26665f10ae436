import Configuration
public import Foundation

/// ocr-server's settings by name, read through a swift-configuration `ConfigReader` over
/// one provider per layer; the first layer that has a value wins: command-line flags, then
/// the environment (`OCR_SERVER_*`, and `PGPASSWORD` for the store), then the optional
/// file (`--config`, or `OCR_SERVER_CONFIG`: `NAME=value` lines with the environment's
/// names, `#` starts a comment), then the default.
///
/// Flags are kept as the text the user typed, under their variable names, in an
/// `EnvironmentVariablesProvider` too, so a flag is converted by exactly the rules its
/// variable is. An empty value is unset.
///
/// Reads are typed and range-checked: a value that is set but does not convert, or is out
/// of its range, throws a ``ServerSettingsError`` naming the setting and its flag (never
/// a secret's value); it never falls back to the default.
///
/// Kubernetes service links: for a Service named `ocr-server` the kubelet injects
/// `OCR_SERVER_SERVICE_HOST`, `OCR_SERVER_SERVICE_PORT`, `OCR_SERVER_PORT=tcp://...` and
/// `OCR_SERVER_PORT_<port>_TCP...` into every pod of the namespace. No setting has one of
/// those names (the listening port is `OCR_SERVER_HTTP_PORT`), and they are dropped from
/// the environment layer (``isServiceLink(_:)``), so they can neither set nor break a
/// setting. A number in `OCR_SERVER_PORT` is told about in ``notices``.
public struct ServerSettings: Sendable {
    private let reader: ConfigReader
    /// Things worth a log line at start (never a secret).
    public let notices: [String]
    /// The process's environment, for what reads it besides the settings (`PGPASSWORD`).
    private let environment: [String: String]

    /// The flag of each setting that has one, for error messages.
    static let flags: [String: String] = [
        "OCR_SERVER_HTTP_HOST": "--host", "OCR_SERVER_HTTP_PORT": "--port", "OCR_SERVER_API_KEYS": "--api-key",
        "OCR_SERVER_DATA_DIR": "--data-dir", "OCR_SERVER_WORKERS": "--workers",
        "OCR_SERVER_MAX_DOCUMENT_MB": "--max-document-mb", "OCR_SERVER_MAX_PAGES": "--max-pages",
        "OCR_SERVER_MAX_PAGE_MEGAPIXELS": "--max-page-megapixels",
        "OCR_SERVER_MAX_DOCUMENT_MEGAPIXELS": "--max-document-megapixels", "OCR_SERVER_MAX_PENDING": "--max-pending",
        "OCR_SERVER_MAX_PENDING_PER_KEY": "--max-pending-per-key", "OCR_SERVER_MAX_UPLOADS_PER_KEY": "--max-uploads-per-key",
        "OCR_SERVER_DOWNLOADS": "--downloads", "OCR_SERVER_RATE_LIMIT": "--rate-limit",
        "OCR_SERVER_RESULT_TTL": "--result-ttl", "OCR_SERVER_TIMEOUT": "--timeout",
        "OCR_SERVER_DOWNLOAD_TIMEOUT": "--download-timeout", "OCR_SERVER_DNS_TIMEOUT": "--dns-timeout",
        "OCR_SERVER_MAX_ATTEMPTS": "--max-attempts", "OCR_SERVER_SIGNING_SECRET": "--signing-secret",
        "OCR_SERVER_PUBLIC_URL": "--public-url", "OCR_SERVER_TRUSTED_PROXIES": "--trusted-proxies",
        "OCR_SERVER_DPI": "--dpi", "OCR_SERVER_DRAIN_TIMEOUT": "--drain-timeout-seconds",
        "OCR_SERVER_TASK_DB": "--task-db", "OCR_SERVER_STORE": "--store", "OCR_SERVER_SHARED_DIR": "--shared-dir",
        "OCR_SERVER_LEASE_SECONDS": "--lease-seconds", "OCR_SERVER_REPLICA_ID": "--replica-id",
        "OCR_SERVER_ALLOW_PRIVATE_SOURCES": "--allow-private-sources", "OCR_SERVER_ALLOW_ANY_PORT": "--allow-any-port",
        "OCR_SERVER_INSECURE_DEV_KEY": "--insecure-dev-key", "OCR_SERVER_LOG_LEVEL": "--log-level",
    ]

    /// Names whose values are secrets: never logged or put in an error. The store URL may
    /// carry a password.
    static let secretNames: Set<String> = [
        "OCR_SERVER_API_KEYS", "OCR_SERVER_SIGNING_SECRET", "OCR_SERVER_STORE", "PGPASSWORD",
    ]

    /// Whether `name` is one the kubelet makes for a Service named `ocr-server` (service
    /// links): `OCR_SERVER_PORT`, `OCR_SERVER_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`,
    /// `OCR_SERVER_SERVICE_HOST`, `OCR_SERVER_SERVICE_PORT[_<NAME>]`.
    public static func isServiceLink(_ name: String) -> Bool {
        name == "OCR_SERVER_PORT" || name.hasPrefix("OCR_SERVER_PORT_") || name.hasPrefix("OCR_SERVER_SERVICE_")
    }

    /// Reads the layers. `flags` maps setting names to what the command line gave (nil or
    /// empty: not given); `file` is the `--config` path (else `OCR_SERVER_CONFIG`).
    public init(
        file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        flags: [String: String?] = [:]
    ) async throws(ServerSettingsError) {
        let secrets = SecretsSpecifier<String, String>.dynamic { name, _ in Self.secretNames.contains(name) }
        let flagged = flags.compactMapValues { $0 }.filter { !$0.value.isEmpty }
        let exported = environment.filter { name, value in
            (name.hasPrefix("OCR_SERVER_") || name == "PGPASSWORD") && !value.isEmpty && !Self.isServiceLink(name)
        }
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: flagged, secretsSpecifier: secrets),
            EnvironmentVariablesProvider(environmentVariables: exported, secretsSpecifier: secrets),
        ]
        if let path = file ?? exported["OCR_SERVER_CONFIG"] {
            try Self.checkFile(atPath: path)
            do {
                providers.append(try await EnvironmentVariablesProvider(environmentFilePath: .init(path), secretsSpecifier: secrets))
            } catch {
                throw ServerSettingsError("cannot read the configuration file \(path)")
            }
        }
        reader = ConfigReader(providers: providers)
        self.environment = environment
        var notices: [String] = []
        if let port = environment["OCR_SERVER_PORT"], !port.isEmpty, !port.contains("://") {
            notices.append(
                "OCR_SERVER_PORT is not a setting (Kubernetes service links use the name): the port is OCR_SERVER_HTTP_PORT (--port)")
        }
        self.notices = notices
    }

    /// The file's shape, checked before the library's `.env` reader reads it: that reader
    /// skips a line without `=` silently, so a typo would leave a setting at its default.
    /// The error names the file and line, not the line's text (it may hold a secret).
    static func checkFile(atPath path: String) throws(ServerSettingsError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ServerSettingsError("cannot read the configuration file \(path)")
        }
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), line[..<eq].contains(where: { !$0.isWhitespace }) else {
                throw ServerSettingsError("\(path):\(number + 1): expected NAME=value")
            }
        }
    }

    // MARK: Reads

    /// The value of `name` from the first layer that has one; nil when unset or empty.
    public subscript(name: String) -> String? {
        reader.string(forKey: ConfigKey([name]), isSecret: Self.secretNames.contains(name)).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `OCR_SERVER_WORKERS (--workers)`: how errors name a setting.
    static func label(_ name: String) -> String { flags[name].map { "\(name) (\($0))" } ?? name }

    /// What an error shows of a value: nothing of a secret, a hint for a service link.
    static func shown(_ name: String, _ text: String) -> String {
        if secretNames.contains(name) { return "(secret)" }
        let hint = text.hasPrefix("tcp://") || text.hasPrefix("udp://") ? " (a Kubernetes service link? set enableServiceLinks: false)" : ""
        return "\"\(text.prefix(80))\"" + hint
    }

    /// A whole number within `range`.
    func int(_ name: String, default value: Int, in range: ClosedRange<Int>) throws(ServerSettingsError) -> Int {
        guard let text = self[name] else { return value }
        guard let number = try? reader.requiredInt(forKey: ConfigKey([name])), range.contains(number) else {
            throw ServerSettingsError(
                "\(Self.label(name)) must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(Self.shown(name, text))")
        }
        return number
    }

    /// A number within `range` (seconds, a rate); never NaN or infinite.
    func double(_ name: String, default value: Double, in range: ClosedRange<Double>) throws(ServerSettingsError) -> Double {
        guard let text = self[name] else { return value }
        guard let number = try? reader.requiredDouble(forKey: ConfigKey([name])), number.isFinite, range.contains(number) else {
            throw ServerSettingsError(
                "\(Self.label(name)) must be a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), got \(Self.shown(name, text))"
            )
        }
        return number
    }

    /// `true`, `false`, `yes`, `no`, `1`, `0`.
    func bool(_ name: String) throws(ServerSettingsError) -> Bool {
        guard let text = self[name] else { return false }
        guard let flag = try? reader.requiredBool(forKey: ConfigKey([name])) else {
            throw ServerSettingsError("\(Self.label(name)) must be true or false, got \(Self.shown(name, text))")
        }
        return flag
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    // MARK: What the server reads

    /// The configured API keys (`OCR_SERVER_API_KEYS`, a comma list; `--api-key` flags are
    /// joined into it), blanks dropped.
    public var apiKeys: [String] {
        (self["OCR_SERVER_API_KEYS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    public var logLevel: String { self["OCR_SERVER_LOG_LEVEL"] ?? "info" }

    public var allowsInsecureDevKey: Bool { get throws(ServerSettingsError) { try bool("OCR_SERVER_INSECURE_DEV_KEY") } }

    public var host: String { self["OCR_SERVER_HTTP_HOST"] ?? "127.0.0.1" }

    /// The server's configuration, every value checked; `apiKeys` are the keys the
    /// start-up rule (``StartupKeys``) decided on.
    public func configuration(apiKeys: [String]) throws(ServerSettingsError) -> ServerConfiguration {
        let day = 86_400.0
        var configuration = ServerConfiguration(
            host: host,
            port: try int("OCR_SERVER_HTTP_PORT", default: 8080, in: 0...65_535),
            apiKeys: apiKeys,
            dataDirectory: URL(
                fileURLWithPath: self["OCR_SERVER_DATA_DIR"] ?? NSTemporaryDirectory() + "/ocr-server"),
            workers: try int("OCR_SERVER_WORKERS", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...256),
            maxDocumentBytes: Int64(try int("OCR_SERVER_MAX_DOCUMENT_MB", default: 200, in: 1...8192)) * 1_048_576,
            maxPages: try int("OCR_SERVER_MAX_PAGES", default: 500, in: 1...100_000),
            resultLifetime: try double("OCR_SERVER_RESULT_TTL", default: 3600, in: 1...(30 * day)),
            processingTimeout: try double("OCR_SERVER_TIMEOUT", default: 600, in: 1...day),
            downloadTimeout: try double("OCR_SERVER_DOWNLOAD_TIMEOUT", default: 120, in: 1...day),
            concurrentDownloads: try int("OCR_SERVER_DOWNLOADS", default: 8, in: 1...1024),
            requestsPerSecond: try double("OCR_SERVER_RATE_LIMIT", default: 0, in: 0...1_000_000),
            maxPendingTasks: try int("OCR_SERVER_MAX_PENDING", default: 1000, in: 1...10_000_000),
            signingSecret: self["OCR_SERVER_SIGNING_SECRET"].map { Array($0.utf8) },
            publicBaseURL: try publicURL(),
            allowPrivateSources: try bool("OCR_SERVER_ALLOW_PRIVATE_SOURCES"),
            allowAnyPort: try bool("OCR_SERVER_ALLOW_ANY_PORT"),
            rasterDPI: try int("OCR_SERVER_DPI", default: 300, in: 36...1200),
            drainTimeout: try double("OCR_SERVER_DRAIN_TIMEOUT", default: 30, in: 0...day))
        configuration.maxPagePixels = try int("OCR_SERVER_MAX_PAGE_MEGAPIXELS", default: 100, in: 1...100_000) * 1_000_000
        configuration.maxDocumentPixels =
            try int("OCR_SERVER_MAX_DOCUMENT_MEGAPIXELS", default: 5000, in: 1...10_000_000) * 1_000_000
        configuration.maxPendingTasksPerKey = try int("OCR_SERVER_MAX_PENDING_PER_KEY", default: 500, in: 1...10_000_000)
        configuration.maxUploadsPerKey = try int("OCR_SERVER_MAX_UPLOADS_PER_KEY", default: 8, in: 1...10_000)
        configuration.resolveTimeout = try double("OCR_SERVER_DNS_TIMEOUT", default: 10, in: 0.1...600)
        configuration.maxAttempts = try int("OCR_SERVER_MAX_ATTEMPTS", default: 3, in: 1...100)
        if let text = self["OCR_SERVER_TRUSTED_PROXIES"] {
            do { configuration.trustedProxies = try TrustedProxies(text) } catch {
                throw ServerSettingsError("\(Self.label("OCR_SERVER_TRUSTED_PROXIES")): \(error)")
            }
        }
        configuration.taskDatabase = TaskDatabase(argument: self["OCR_SERVER_TASK_DB"])
        if let url = self["OCR_SERVER_STORE"] {
            // PGPASSWORD from any layer (a file may hold it), over the process's.
            var environment = environment
            if let password = self["PGPASSWORD"] { environment["PGPASSWORD"] = password }
            do { configuration.taskDatabase = try TaskDatabase(store: url, environment: environment) } catch {
                throw ServerSettingsError("\(error)")
            }
            guard let shared = self["OCR_SERVER_SHARED_DIR"] else {
                throw ServerSettingsError(
                    "\(Self.label("OCR_SERVER_STORE")) needs \(Self.label("OCR_SERVER_SHARED_DIR")): a directory every replica mounts")
            }
            configuration.sharedDirectory = URL(fileURLWithPath: shared)
            configuration.leaseDuration = try double("OCR_SERVER_LEASE_SECONDS", default: 30, in: 1...day)
            configuration.replicaID = self["OCR_SERVER_REPLICA_ID"]
        }
        return configuration
    }

    /// `OCR_SERVER_PUBLIC_URL`: an http or https URL with a host and nothing after the path.
    private func publicURL() throws(ServerSettingsError) -> String? {
        guard let text = self["OCR_SERVER_PUBLIC_URL"] else { return nil }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
        else {
            throw ServerSettingsError(
                "\(Self.label("OCR_SERVER_PUBLIC_URL")) must be an http or https URL such as https://ocr.example.com, got \(Self.shown("OCR_SERVER_PUBLIC_URL", text))"
            )
        }
        return text
    }
}

/// A setting that is set but unusable; the message names the setting and never carries a
/// secret's value.
public struct ServerSettingsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
