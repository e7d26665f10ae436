import ArgumentParser
import Foundation
import Hummingbird
import JobContract
import JobCore
import Kafka
import Ledger
import Logging
import NIOCore
import Synchronization
import WorkerApp

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Publish one OCR job; optionally wait for its result.",
        discussion: """
            With --file the document is served from this machine on a loopback port while the \
            command waits, so it suits a worker on the same host (the demo, development).
            """)

    @OptionGroup var common: CommonOptions
    @Option(help: "The document's http(s) URL.") var url: String?
    @Option(help: "A local document, served to the worker while waiting (implies --wait).") var file: String?
    @Option(help: "The job id (default: a new UUID).") var jobID: String?
    @Option(help: "txt, pdf, docx, xlsx or pptx.") var format: String = "txt"
    @Option(help: "Comma separated language names, e.g. English or ChinesePRC,English.") var language: String?
    @Option(help: "The document's password (never logged). Env: OCR_DOCUMENT_PASSWORD") var password: String?
    @Option(help: "A JSON object echoed in the result.") var metadata: String?
    @Flag(help: "Wait for the result and print it.") var wait = false
    @Option(help: "Seconds to wait for the result.") var timeout: Int = 300
    @Option(help: "Ledger URL, to show the job's progress while waiting. Env: OCR_LEDGER_URL") var ledger: String?

    func run() async throws {
        let settings = try await common.settings(["OCR_LEDGER_URL": ledger])
        var logger = Logger(label: "ocr-worker.submit")
        logger.logLevel = .warning
        guard (url == nil) != (file == nil) else { throw ValidationError("give exactly one of --url and --file") }
        let jobID = self.jobID ?? UUID().uuidString.lowercased()

        var server: (task: Task<Void, any Error>, url: String)?
        if let file { server = try await serve(file, logger: logger) }
        defer { server?.task.cancel() }
        let documentURL = server?.url ?? url!

        var job: [String: Any] = ["job_id": jobID, "source": ["url": documentURL], "format": format]
        if let language { job["language"] = language.split(separator: ",").map(String.init) }
        if let password = password ?? ProcessInfo.processInfo.environment["OCR_DOCUMENT_PASSWORD"] { job["password"] = password }
        if let metadata {
            guard let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) else { throw ValidationError("--metadata is not JSON") }
            job["metadata"] = object
        }
        let value = [UInt8](try JSONSerialization.data(withJSONObject: job, options: [.sortedKeys]))
        // The worker would dead-letter an invalid job; say why here instead.
        do { _ = try JobDecoder().decode(value) } catch { throw ValidationError("invalid job: \(error.message)") }

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: settings.kafka(clientID: "ocr-worker-submit")), logger: logger)
        let traceparent = "00-\(Self.hex(16))-\(Self.hex(8))-01"
        let report = try await producer.send(
            KafkaProducerMessage(
                topic: settings.jobsTopic, key: Array(jobID.utf8), value: value,
                headers: [KafkaHeader(key: "traceparent", value: traceparent)]))
        await producer.close()
        print("submitted \(jobID) to \(report.topic)[\(report.partition)]@\(report.offset)")
        guard wait || file != nil else { return }

        var progress: (any JobLedger)?
        if let url = settings.ledgerURL { progress = try await makeLedger(url: url, logger: logger) }
        let watcher = progress.map { ledger in
            Task {
                var last: JobState?
                while !Task.isCancelled {
                    if let state = try? await ledger.record(jobID: jobID)?.state, state != last {
                        print(TerminalText.safe("  \(jobID): \(state.rawValue)"))
                        last = state
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
        let found = Mutex<[UInt8]?>(nil)
        let reader = TopicReader(client: settings.kafka(clientID: "ocr-worker-submit"), topic: settings.resultsTopic, logger: logger)
        let ok = try await reader.follow(timeout: .seconds(timeout)) { m in
            guard m.keyString == jobID else { return false }
            found.withLock { $0 = m.value }
            return true
        }
        watcher?.cancel()
        await progress?.close()
        guard ok, let result = found.withLock({ $0 }) else { throw ValidationError("no result for \(jobID) within \(timeout) s") }
        print(TerminalText.safe(result))
    }

    /// Serves one file on a loopback port; returns its URL.
    private func serve(_ path: String, logger: Logger) async throws -> (Task<Void, any Error>, String) {
        guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let router = Router()
        router.get("/\(name)") { _, context in
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        // `run()`, not `runService()`: a CLI keeps the default signal handling, so Ctrl-C
        // ends `submit --wait` instead of only stopping this file server.
        let task = Task { try await app.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while port.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw ValidationError("could not serve \(path)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name
        return (task, "http://127.0.0.1:\(port.withLock { $0 }!)/\(encoded)")
    }

    static func hex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}
