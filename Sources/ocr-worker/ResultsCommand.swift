import ArgumentParser
import Foundation
import Kafka
import Logging
import Subprocess
import Synchronization
import WorkerApp
import ZIPFoundation

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Print results as a table: job, status, where the file is, first line of text.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Wait until results for this many distinct jobs were seen (0: what is there now).") var expect: Int = 0
    @Option(help: "Only these job ids (repeatable).") var jobID: [String] = []
    @Option(help: "Seconds to wait with --expect.") var timeout: Int = 300
    @Flag(help: "Print the raw JSON of each result instead of the table.") var json = false

    func run() async throws {
        let settings = try await common.settings()
        var logger = Logger(label: "ocr-worker.results")
        logger.logLevel = .warning
        let reader = TopicReader(client: settings.kafka(clientID: "ocr-worker-results"), topic: settings.resultsTopic, logger: logger)
        let wanted = Set(jobID)
        var latest: [String: [UInt8]] = [:]
        if expect > 0 {
            let seen = Mutex<[String: [UInt8]]>([:])
            let expect = self.expect
            let complete = try await reader.follow(timeout: .seconds(timeout)) { m in
                guard let key = m.keyString, wanted.isEmpty || wanted.contains(key), let value = m.value else { return false }
                return seen.withLock { s in
                    s[key] = value
                    return s.count >= expect
                }
            }
            latest = seen.withLock { $0 }
            if !complete { print("only \(latest.count) of \(expect) results arrived within \(timeout) s") }
        } else {
            for m in try await reader.snapshot() {
                if let key = m.keyString, wanted.isEmpty || wanted.contains(key), let value = m.value { latest[key] = value }
            }
        }
        var rows: [ResultRow] = []
        for key in latest.keys.sorted() { rows.append(await ResultRow(json: latest[key]!)) }
        if json {
            for key in latest.keys.sorted() { print(TerminalText.safe(latest[key]!)) }
        } else {
            print(TerminalText.safe(ResultRow.table(rows)))
        }
        if expect > 0, latest.count < expect { throw ExitCode(1) }
    }
}

/// One line of the results table.
struct ResultRow {
    var job: String
    var status: String
    var format: String
    var location: String
    var firstLine: String

    init(json bytes: [UInt8]) async {
        let root = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        job = root["job_id"] as? String ?? "?"
        status = root["status"] as? String ?? "?"
        format = root["format"] as? String ?? "-"
        let result = root["result"] as? [String: Any]
        let error = root["error"] as? [String: Any]
        location = (result?["location"] as? String) ?? (result?["file_url"] as? String).map(Self.withoutQuery) ?? "-"
        if let error {
            firstLine = "\(error["class"] as? String ?? "?") \(error["code"] as? String ?? ""): \(error["message"] as? String ?? "")"
        } else if let url = (result?["location"] as? String).flatMap({ URL(string: $0) }), url.isFileURL {
            firstLine = await Self.firstLine(of: url.path, format: format)
        } else {
            firstLine = "-"
        }
    }

    static func withoutQuery(_ url: String) -> String { url.split(separator: "?").first.map(String.init) ?? url }

    /// The first non-empty line of text of a rehosted result file.
    static func firstLine(of path: String, format: String) async -> String {
        var text: String?
        switch format {
        case "txt":
            text = try? String(contentsOfFile: path, encoding: .utf8)
        case "pdf":
            text = try? await run(.name("pdftotext"), arguments: ["-l", "1", "-raw", path, "-"], output: .string(limit: 1 << 20))
                .standardOutput
        default:
            // OOXML: the text of the document part, tags turned into line breaks.
            let part = ["docx": "word/document.xml", "xlsx": "xl/sharedStrings.xml", "pptx": "ppt/slides/slide1.xml"][format]
            if let part, let xml = Self.zipEntry(part, of: path) {
                text = xml.replacingOccurrences(of: "<[^>]+>", with: "\n", options: .regularExpression)
            }
        }
        let line = text?.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
        return line.map { String($0.prefix(60)) } ?? "(no text)"
    }

    /// One member of a ZIP file as text, at most 8 MiB of it.
    private static func zipEntry(_ name: String, of path: String) -> String? {
        guard let archive = try? Archive(url: URL(fileURLWithPath: path), accessMode: .read, pathEncoding: nil), let entry = archive[name],
            entry.uncompressedSize <= 8 << 20
        else { return nil }
        var data = Data()
        guard (try? archive.extract(entry, skipCRC32: true) { data.append($0) }) != nil else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func table(_ rows: [ResultRow]) -> String {
        let header = ["JOB", "STATUS", "FORMAT", "FILE", "FIRST LINE OF TEXT"]
        let cells = rows.map { [$0.job, $0.status, $0.format, $0.location, $0.firstLine] }
        let widths = (0..<header.count).map { i in ([header] + cells).map { $0[i].count }.max() ?? 0 }
        func line(_ c: [String]) -> String {
            zip(c, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + cells.map(line)).joined(separator: "\n")
    }
}
