import ArgumentParser
import Foundation
import Kafka
import Ledger
import Logging
import OCRClient
import ResultStore
import Worker
import WorkerApp

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Print the effective configuration (secrets redacted) and test every connection.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let settings = try await common.settings()
        var logger = Logger(label: "ocr-worker.check")
        logger.logLevel = .critical
        print("configuration:")
        // Every printed value goes through ConfigurationRedaction (see Settings.redacted).
        for (k, v) in settings.redacted { print("  \(k)=\(v)") }
        let configuration = try WorkerConfiguration(settings, version: OCRWorkerCommand.version)
        let environment = settings.dependencyEnvironment
        var failures = 0
        func report(_ name: String, _ outcome: Result<String, any Error>) {
            switch outcome {
            case .success(let detail): print("ok    \(name): \(detail)")
            case .failure(let error):
                failures += 1
                print("FAIL  \(name): \(error)")
            }
        }

        let kafka: Result<String, any Error> = await Result(catching: {
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(client: configuration.kafka, groupID: "ocr-worker-check"), logger: logger)
            defer { Task { await consumer.close() } }
            let ends = try await consumer.highWatermarks([TopicPartition(topic: configuration.jobsTopic, partition: 0)])
            return "\(configuration.jobsTopic)[0] ends at offset \(ends.values.first ?? 0)"
        })
        report("kafka \(configuration.kafka.bootstrapServers.joined(separator: ","))", kafka)

        let ledger: Result<String, any Error> = await Result(catching: {
            let ledgerConfiguration = try LedgerConfiguration(url: configuration.ledgerURL, environment: environment)
            let store = try await makeLedger(ledgerConfiguration, logger: logger)
            try await store.ping()
            await store.close()
            if case .postgres(let options) = ledgerConfiguration.backend, !options.tls.verifiesServer {
                return "answers (sslmode=\(options.tls.rawValue): the server's certificate is NOT verified)"
            }
            return "answers"
        })
        report("ledger", ledger)

        if !configuration.processing.passThrough {
            do {
                let storeConfiguration = try ResultStoreConfiguration(
                    url: configuration.resultStoreURL, environment: environment)
                report("result store", .success("configured: \(storeConfiguration)"))
            } catch {
                report("result store", .failure(error))
            }
        }

        let provider: Result<String, any Error> = await Result(catching: {
            let client = try OCRClient(configuration: configuration.provider, logger: logger)
            defer { Task { try? await client.shutdown() } }
            do {
                _ = try await client.queryTask("ocr-worker-check")
                return "answers"
            } catch let error as OCRClientError where error.status == 404 || error.status == 400 {
                return "answers and accepts the API key"
            }
        })
        report("provider \(ConfigurationRedaction.redactingURLSecrets("\(configuration.provider.baseURL)"))", provider)
        if failures > 0 { throw ExitCode(1) }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
