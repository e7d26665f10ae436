import Foundation
import GuardedFetch
import OCRClient
import OCRTaskAPI
import Testing

/// A fake server, a client pointed at it and a log store; checks after each use that no
/// secret reached the logs.
struct Harness: Sendable {
    static let apiKey = "sk-test-API-KEY-7f3a9c1e5b"
    static let password = "Pw-SECRET-42x"
    static let querySecret = "QUERYSECRET"

    let server: FakeOCRServer
    let client: OCRClient
    let logs: LogStore

    static func run(
        configure: (inout OCRClientConfiguration) -> Void = { _ in },
        resolver: any HostResolver = SystemHostResolver(),
        _ body: (Harness) async throws -> Void
    ) async throws {
        let logs = LogStore()
        let server = try await FakeOCRServer.start(apiKey: apiKey)
        var configuration = OCRClientConfiguration(
            // Generous: a loaded CI machine (parallel suites on 2 cores) missed 2 s reads of
            // this loopback server. Tests about timeouts set their own.
            baseURL: server.baseURL, apiKey: apiKey, connectTimeout: .seconds(10), readTimeout: .seconds(20),
            requestTimeout: .seconds(30), transferTimeout: .seconds(120), retry: .none,
            budget: .init(requestsPerSecond: 100, burst: 100))
        configure(&configuration)
        let client = try OCRClient(configuration: configuration, logger: logs.logger(), resolver: resolver)
        let harness = Harness(server: server, client: client, logs: logs)
        do {
            try await body(harness)
        } catch {
            logs.append("test error: \(error)")
            try? await client.shutdown()
            await server.stop()
            harness.expectNoSecretsLogged()
            throw error
        }
        try await client.shutdown()
        await server.stop()
        harness.expectNoSecretsLogged()
    }

    /// Records an error's description in the log store too, so it is searched as well.
    func note(_ error: OCRClientError) -> OCRClientError {
        logs.append("error: \(error) \(String(reflecting: error))")
        return error
    }

    /// Runs `body`, which must fail with an ``OCRClientError``; returns it.
    func expectError<T>(_ body: () async throws(OCRClientError) -> T, sourceLocation: SourceLocation = #_sourceLocation)
        async -> OCRClientError?
    {
        do {
            _ = try await body()
            Issue.record("expected an OCRClientError", sourceLocation: sourceLocation)
            return nil
        } catch {
            return note(error)
        }
    }

    func expectNoSecretsLogged(sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = logs.all
        #expect(!lines.isEmpty, "nothing was logged: the search would prove nothing", sourceLocation: sourceLocation)
        for line in lines {
            for secret in [Self.apiKey, Self.password, Self.querySecret] where line.contains(secret) {
                Issue.record("a secret was logged: \(line.prefix(200))", sourceLocation: sourceLocation)
            }
        }
    }

    static var options: TaskOptions {
        // Valid by construction.
        try! TaskOptions(language: "English,Digits", password: password, format: "pdf")
    }
}
