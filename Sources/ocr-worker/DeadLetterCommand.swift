import ArgumentParser
import Foundation
import JobContract
import Kafka
import Logging
import Worker
import WorkerApp

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Inspect and replay the dead-letter topic.",
        subcommands: [List.self, Show.self, Replay.self])

    struct Filter: ParsableArguments {
        @Option(help: "Only this error class (invalid_job, provider_rejected, ...).") var errorClass: String?
        @Option(help: "Only this job id (the record key).") var jobID: String?

        func matches(_ m: KafkaConsumerMessage) -> Bool {
            if let jobID, m.keyString != jobID { return false }
            if let errorClass, m.headers.last(named: DeadLetterHeaders.errorClass)?.stringValue != errorClass { return false }
            return true
        }
    }

    static func read(_ common: CommonOptions) async throws -> (Settings, [KafkaConsumerMessage]) {
        let settings = try await common.settings()
        var logger = Logger(label: "ocr-worker.dlq")
        logger.logLevel = .warning
        let reader = TopicReader(client: settings.kafka(clientID: "ocr-worker-dlq"), topic: settings.deadLetterTopic, logger: logger)
        return (settings, try await reader.snapshot())
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per dead letter.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var filter: Filter
        @Option(help: "At most this many, newest last.") var limit: Int = 100

        func run() async throws {
            let (_, records) = try await DeadLetterCommand.read(common)
            let matching = records.filter(filter.matches).suffix(limit)
            for m in matching {
                let h = { (name: String) in m.headers.last(named: name)?.stringValue ?? "-" }
                print(
                    TerminalText.safe(
                        "\(m.partition):\(m.offset)  \(m.keyString ?? "(no key)")  \(h(DeadLetterHeaders.errorClass))  \(h(DeadLetterHeaders.errorCode))  \(h(DeadLetterHeaders.failedAt))  \(h(DeadLetterHeaders.errorMessage))"
                    ))
            }
            print("\(matching.count) dead letter(s)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Headers and value of one dead letter.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "PARTITION:OFFSET as `dlq list` prints it.") var position: String

        func run() async throws {
            let parts = position.split(separator: ":")
            guard parts.count == 2, let p = Int32(parts[0]), let o = Int64(parts[1]) else { throw ValidationError("expected PARTITION:OFFSET") }
            let (_, records) = try await DeadLetterCommand.read(common)
            guard let m = records.first(where: { $0.partition == p && $0.offset == o }) else {
                throw ValidationError("no dead letter at \(position)")
            }
            let display = DeadLetterHeaders.displayValues(m.headers.map { (name: $0.key, value: $0.value) })
            for (k, v) in display.sorted(by: { $0.key < $1.key }) { print(TerminalText.safe("\(k): \(v)")) }
            print(TerminalText.safe("key: \(m.keyString ?? "(none)")"))
            print(TerminalText.safe("value: \(m.value.map { String(decoding: $0, as: UTF8.self) } ?? "(null)")"))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish dead letters back to the jobs topic, as they were consumed (dead-letter headers removed).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var filter: Filter
        @Flag(help: "Only list what would be replayed.") var dryRun = false
        @Option(help: "Records per second at most.") var rate: Double = 10

        func run() async throws {
            let (settings, records) = try await DeadLetterCommand.read(common)
            // A stub carries no value (the record was too large): nothing to replay.
            let stubs = records.filter { DeadLetterStub.isStub($0.headers.map { (name: $0.key, value: $0.value) }) }
            let matching = records.filter { filter.matches($0) && !DeadLetterStub.isStub($0.headers.map { (name: $0.key, value: $0.value) }) }
            if !stubs.isEmpty { print("\(stubs.count) stub(s) without a value skipped (the original record was too large to copy)") }
            if dryRun {
                for m in matching { print(TerminalText.safe("would replay \(m.partition):\(m.offset) \(m.keyString ?? "(no key)")")) }
                print("\(matching.count) record(s) would be replayed")
                return
            }
            // Replays reopen failed jobs, so the workers take them only signed.
            guard let replayKey = try settings.replayKey else {
                throw ValidationFailure("dlq replay needs OCR_REPLAY_KEY, the key the workers check replays with")
            }
            var logger = Logger(label: "ocr-worker.dlq")
            logger.logLevel = .warning
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(client: settings.kafka(clientID: "ocr-worker-dlq")), logger: logger)
            let interval = Duration.seconds(1 / max(rate, 0.001))
            for m in matching {
                let start = ContinuousClock.now
                var headers = m.headers.filter { !DeadLetterCommand.isDeadLetterHeader($0.key) && $0.key != ReplaySignature.header }
                // A record without a valid job id never had a job to reopen: replayed unsigned.
                if let value = m.value, let job = try? JobDecoder(maxValueBytes: .max).decode(value) {
                    let signature = ReplaySignature.sign(jobID: job.jobID, value: value, key: replayKey)
                    headers.append(KafkaHeader(key: ReplaySignature.header, value: signature))
                }
                let topic = m.headers.last(named: DeadLetterHeaders.originalTopic)?.stringValue ?? settings.jobsTopic
                try await producer.send(KafkaProducerMessage(topic: topic, key: m.key, value: m.value, headers: headers))
                print(TerminalText.safe("replayed \(m.partition):\(m.offset) \(m.keyString ?? "(no key)") to \(topic)"))
                try await Task.sleep(until: start + interval, clock: .continuous)
            }
            await producer.close()
            print("\(matching.count) record(s) replayed")
        }
    }

    static func isDeadLetterHeader(_ name: String) -> Bool {
        name.hasPrefix("ocr.") || name.hasPrefix("__connect.errors.") || name.hasPrefix("kafka_dlt-")
    }
}
