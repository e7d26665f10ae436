import ArgumentParser
import WorkerApp

@main
struct OCRWorkerCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "ocr-worker",
        abstract: "Consumes OCR jobs from Kafka, drives the OCR task API, publishes results and dead letters.",
        version: version,
        subcommands: [RunCommand.self, SubmitCommand.self, ResultsCommand.self, DeadLetterCommand.self, LedgerCommand.self, CheckCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

/// Options every subcommand shares: where the configuration comes from and where Kafka is.
struct CommonOptions: ParsableArguments {
    @Option(help: "A file of NAME=value lines (the environment variable names). Env: OCR_CONFIG")
    var config: String?

    @Option(help: "Kafka bootstrap servers, comma separated. Env: OCR_KAFKA_BOOTSTRAP")
    var bootstrap: String?

    @Option(name: .customLong("kafka-property"), help: "A librdkafka property, name=value (repeatable). Env: OCR_KAFKA_<NAME>")
    var kafkaProperties: [String] = []

    @Option(help: "Jobs topic. Env: OCR_JOBS_TOPIC")
    var jobsTopic: String?

    @Option(help: "Results topic. Env: OCR_RESULTS_TOPIC")
    var resultsTopic: String?

    @Option(help: "Dead-letter topic. Env: OCR_DLQ_TOPIC")
    var dlqTopic: String?

    func settings(_ more: [String: String?] = [:]) async throws -> Settings {
        var flags: [String: String?] = [
            "OCR_KAFKA_BOOTSTRAP": bootstrap, "OCR_JOBS_TOPIC": jobsTopic, "OCR_RESULTS_TOPIC": resultsTopic,
            "OCR_DLQ_TOPIC": dlqTopic,
        ]
        flags.merge(more) { _, new in new }
        return try await Settings(file: config, flags: flags, kafkaFlags: kafkaProperties)
    }
}
