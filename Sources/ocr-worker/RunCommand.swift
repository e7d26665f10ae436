import ArgumentParser
import WorkerApp

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the worker until SIGTERM or SIGINT (then drain, commit and exit 0).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Consumer group. Env: OCR_GROUP_ID") var group: String?
    @Option(help: "OCR task API base URL. Env: OCR_PROVIDER_URL") var providerURL: String?
    @Option(help: "Requests per second allowed to the provider. Env: OCR_PROVIDER_RPS") var providerRPS: String?
    @Option(help: "Ledger URL: sqlite:///path, sqlite::memory:, postgres://user@host:port/db. Env: OCR_LEDGER_URL") var ledger: String?
    @Option(help: "Result store URL: file:///dir or s3://bucket/prefix?endpoint=... Env: OCR_RESULT_STORE_URL") var resultStore: String?
    @Flag(help: "Publish the provider's result URL instead of rehosting the file. Env: OCR_PASS_THROUGH") var passThrough = false
    @Option(help: "Jobs in flight per pod. Env: OCR_MAX_IN_FLIGHT") var maxInFlight: String?
    @Option(help: "Port of /healthz, /readyz and /metrics. Env: OCR_HTTP_PORT") var httpPort: String?
    @Option(help: "This pod's id in results and dead letters. Env: OCR_WORKER_ID (default: host name)") var workerID: String?
    @Flag(help: "Create the topics at start if they are missing. Env: OCR_CREATE_TOPICS") var createTopics = false
    @Option(help: "Log level (trace, debug, info, notice, warning, error). Env: OCR_LOG_LEVEL") var logLevel: String?

    func run() async throws {
        let settings = try await common.settings([
            "OCR_GROUP_ID": group, "OCR_PROVIDER_URL": providerURL, "OCR_PROVIDER_RPS": providerRPS, "OCR_LEDGER_URL": ledger,
            "OCR_RESULT_STORE_URL": resultStore, "OCR_PASS_THROUGH": passThrough ? "true" : nil,
            "OCR_MAX_IN_FLIGHT": maxInFlight, "OCR_HTTP_PORT": httpPort, "OCR_WORKER_ID": workerID,
            "OCR_CREATE_TOPICS": createTopics ? "true" : nil, "OCR_LOG_LEVEL": logLevel,
        ])
        try await WorkerComposition.run(settings, version: OCRWorkerCommand.version)
    }
}
