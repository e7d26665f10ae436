// The baseline of `scripts/bench worker`: the job of `ocr-worker run` in pass-through
// mode, written the plain way on the same libraries (the Kafka module, OCRClient, the
// SQLite ledger). One task per job, straight-line code: accept, claim, create, record the
// task id, sleep a second, poll until the task ends, store the result, publish it, mark it
// published. It keeps the one rule that shapes the worker's throughput: at most
// OCR_MAX_CONCURRENT_CREATES creates at a time per pod (claim, create, durable task-id
// write; 1 by default, as in the worker), so a crash orphans at most that many tasks. No
// state machine, no poll scheduler, no claims taken over, no metrics, no
// offsets committed, no dead letters: it is not a worker anyone should run, only the floor
// of what the worker's own libraries cost per job, so the benchmark can tell the job
// engine's overhead from theirs.
//
// Reads the OCR_* variables `scripts/bench worker` gives `ocr-worker run` (bootstrap,
// group, topics, provider URL, key and rate, `sqlite://` ledger URL,
// OCR_MAX_CONCURRENT_CREATES);
// ignores its arguments.

import Foundation
import Kafka
import Ledger
import Logging
import OCRClient
import OCRTaskAPI
import Permits
import Worker

struct PlainJob: Decodable {
    struct Source: Decodable { var url: String }
    var jobID: String
    var source: Source

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case source
    }
}

struct PlainResult: Encodable {
    var jobID: String
    var status: String
    var taskID: String
    var resultURL: String?

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case status
        case taskID = "task_id"
        case resultURL = "result_url"
    }
}

@main
struct PlainWorker {
    static func main() async throws {
        let env = ProcessInfo.processInfo.environment
        func setting(_ name: String) throws -> String {
            guard let value = env[name], !value.isEmpty else { throw PlainWorkerError(message: "\(name) is not set") }
            return value
        }
        let logger = {
            var logger = Logger(label: "plain-worker")
            logger.logLevel = .warning
            return logger
        }()
        let kafka = KafkaClientConfiguration(bootstrapServers: try setting("OCR_KAFKA_BOOTSTRAP").split(separator: ",").map(String.init))
        let jobsTopic = try setting("OCR_JOBS_TOPIC")
        let resultsTopic = try setting("OCR_RESULTS_TOPIC")
        let partitions = Int32(env["OCR_TOPIC_PARTITIONS"] ?? "") ?? 6
        try await KafkaAdmin(client: kafka, logger: logger).createTopics([
            .init(name: jobsTopic, partitions: partitions), .init(name: resultsTopic, partitions: partitions),
        ])
        let ledgerURL = try setting("OCR_LEDGER_URL")
        guard ledgerURL.hasPrefix("sqlite://") else { throw PlainWorkerError(message: "OCR_LEDGER_URL must be sqlite://PATH") }
        let ledger = try await SQLiteJobLedger(location: .file(String(ledgerURL.dropFirst("sqlite://".count))), logger: logger)
        guard let rps = Double(env["OCR_PROVIDER_RPS"] ?? "2"), rps.isFinite, rps > 0 else {
            throw PlainWorkerError(message: "OCR_PROVIDER_RPS must be a positive number")
        }
        let client = try OCRClient(
            configuration: OCRClientConfiguration(
                baseURL: try setting("OCR_PROVIDER_URL"), apiKey: try setting("OCR_PROVIDER_API_KEY"), sourcePolicy: .passURL,
                allowNonPublicImageURLs: true, budget: .init(requestsPerSecond: rps)),
            logger: logger)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: kafka), logger: logger)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: kafka, groupID: try setting("OCR_GROUP_ID"), sessionTimeout: .seconds(6)),
            logger: logger)
        try consumer.subscribe(topics: [jobsTopic])
        guard let creates = Int(env["OCR_MAX_CONCURRENT_CREATES"] ?? "1"), creates >= 1 else {
            throw PlainWorkerError(message: "OCR_MAX_CONCURRENT_CREATES must be a whole number of at least 1")
        }
        let createGate = PermitQueue(limit: creates)
        await withDiscardingTaskGroup { group in
            for await message in consumer.messages {
                group.addTask {
                    do {
                        try await run(
                            message, ledger: ledger, client: client, producer: producer, createGate: createGate,
                            resultsTopic: resultsTopic)
                    } catch {
                        logger.error("job failed: \(error)")
                    }
                }
            }
        }
    }

    static func run(
        _ message: KafkaConsumerMessage, ledger: SQLiteJobLedger, client: OCRClient, producer: KafkaProducer,
        createGate: PermitQueue, resultsTopic: String
    ) async throws {
        let job = try JSONDecoder().decode(PlainJob.self, from: Data(message.value ?? []))
        let accepted = try await ledger.accept(jobID: job.jobID, fingerprint: job.source.url, at: Date())
        let created = try await createGate.withPermit {
            let claim = try await ledger.claimCreate(
                jobID: job.jobID, expectedCreateAttempts: accepted.record.createAttempts, at: Date())
            let created = try await client.createTask(source: .url(job.source.url), options: try TaskOptions())
            _ = try await ledger.recordTask(
                jobID: job.jobID, taskID: created.taskID, createAttempts: claim.createAttempts, at: Date())
            return created
        }
        var polls = 0
        var task: TaskRecord
        repeat {
            try await Task.sleep(for: .seconds(1))
            task = try await client.queryTask(created.taskID)
            polls += 1
        } while !task.state.isTerminal
        let result = PlainResult(
            jobID: job.jobID, status: task.state == .success ? "succeeded" : "failed", taskID: created.taskID,
            resultURL: task.file)
        let value = Array(try JSONEncoder().encode(result))
        _ = try await ledger.complete(jobID: job.jobID, resultMessage: value, polls: polls, at: Date())
        _ = try await producer.send(KafkaProducerMessage(topic: resultsTopic, key: Array(job.jobID.utf8), value: value))
        _ = try await ledger.markPublished(jobID: job.jobID, at: Date())
    }
}

struct PlainWorkerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
