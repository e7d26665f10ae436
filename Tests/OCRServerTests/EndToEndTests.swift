import Foundation
import TestSupport
import Testing

/// A sample document of `samples/` and what it must yield.
struct Sample: Sendable, CustomTestStringConvertible {
    var file: String
    var language: String
    var pages: Int
    /// Highest acceptable character error rate.
    var maxCER: Double
    var password: String? = nil

    var truthName: String { String(file.split(separator: ".").first ?? "") }
    var testDescription: String { file }

    static let all: [Sample] = [
        Sample(file: "clean.png", language: "English", pages: 1, maxCER: 0.02),
        Sample(file: "two-pages.pdf", language: "English", pages: 2, maxCER: 0.02),
        Sample(file: "protected.pdf", language: "English", pages: 1, maxCER: 0.02, password: "ocr-secret-42"),
        Sample(file: "scan-noisy.png", language: "English", pages: 1, maxCER: 0.05),
        Sample(file: "chinese.png", language: "ChinesePRC", pages: 1, maxCER: 0.05),
    ]
}

/// Reads a result file the way its users would: `pdftotext -raw` (content order, which
/// keeps the lines of a skewed scan together) for the PDF's text layer,
/// python-docx / openpyxl / python-pptx for OOXML. Prints JSON {"text", "units"}: units
/// are pages (PDF), page breaks + 1 (docx), sheets (xlsx), slides (pptx).
let extractScript = #"""
    import json, sys, subprocess
    fmt, path = sys.argv[1], sys.argv[2]
    if fmt == "pdf":
        text = subprocess.run(["pdftotext", "-raw", path, "-"], check=True, capture_output=True).stdout.decode("utf-8")
        info = subprocess.run(["pdfinfo", path], check=True, capture_output=True).stdout.decode()
        units = int([l for l in info.splitlines() if l.startswith("Pages:")][0].split()[1])
    elif fmt == "docx":
        import docx
        document = docx.Document(path)
        text = "\n".join(p.text for p in document.paragraphs)
        units = 1 + sum(1 for p in document.paragraphs for r in p.runs if 'w:br' in r._r.xml and 'type="page"' in r._r.xml)
    elif fmt == "xlsx":
        import openpyxl
        book = openpyxl.load_workbook(path)
        text = "\n".join(str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None)
        units = len(book.worksheets)
    elif fmt == "pptx":
        import pptx
        deck = pptx.Presentation(path)
        text = "\n".join(s.text_frame.text for slide in deck.slides for s in slide.shapes if s.has_text_frame)
        units = len(deck.slides)
    print(json.dumps({"text": text, "units": units}))
    """#

@Suite(.serialized, .tags(.tesseract)) struct EndToEndTests {
    static let formats = ["txt", "pdf", "docx", "xlsx", "pptx"]

    @Test(arguments: Sample.all)
    func sampleInEveryFormat(_ sample: Sample) async throws {
        try await withServer { _, api in try await check(sample, api: api) }
    }

    func check(_ sample: Sample, api: API) async throws {
        let document = try Repo.sample(sample.file)
        let truth = try Repo.truth(sample.truthName)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        var ids: [String: String] = [:]
        for format in Self.formats {
            var parts: [Part] = [
                .file("image_file", sample.file, document), .field("language", sample.language), .field("format", format),
            ]
            if let password = sample.password { parts.append(.field("password", password)) }
            ids[format] = try await api.createTask(parts)
        }
        for format in Self.formats {
            let data = try await api.waitTerminal(ids[format]!)
            #expect(data["state"] as? Int == 1, "\(sample.file) \(format): \(data)")
            #expect(data["progress"] as? Int == 100)
            for key in ["created_at", "processed_at", "completed_at"] {
                #expect(Int(data[key] as? String ?? "") != nil, "\(key) is Unix seconds as a string")
            }
            guard let link = data["file"] as? String else {
                Issue.record("\(sample.file) \(format): no file link")
                continue
            }
            let download = try await api.send(.GET, link, key: .some(nil))
            #expect(download.status == 200)
            let text: String
            let units: Int
            if format == "txt" {
                text = String(decoding: download.body, as: UTF8.self)
                units = text.components(separatedBy: "\u{0C}").count
            } else {
                let path = scratch.appendingPathComponent("result.\(format)").path
                try download.body.write(to: URL(fileURLWithPath: path))
                let output = try await run(Repo.python, ["-c", extractScript, format, path])
                let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
                text = object["text"] as? String ?? ""
                units = object["units"] as? Int ?? 0
            }
            #expect(units == sample.pages, "\(sample.file) \(format): \(units) pages/sheets/slides, expected \(sample.pages)")
            let cer = CharacterErrorRate.of(text, against: truth)
            print("CER \(sample.file) \(format): \(String(format: "%.2f", cer * 100)) %")
            #expect(cer <= sample.maxCER, "\(sample.file) \(format): CER \(cer) > \(sample.maxCER)\n\(text)")
        }
    }

    /// The Python client in Resources, written from PicWish's public API description with
    /// `requests`, works against ocr-server with nothing changed but its base URL.
    @Test func pythonClientGetsTheText() async throws {
        try await withServer { server, _ in try await Self.runPythonClient(server) }
    }

    static func runPythonClient(_ server: TestServer) async throws {
        let client = Repo.root.appendingPathComponent("Tests/OCRServerTests/Resources/picwish_client.py").path
        let output = try await run(
            Repo.python,
            [
                client, "--base-url", server.base, "--api-key", TestServer.key, "--language", "English",
                "--format", "txt", Repo.samples.appendingPathComponent("clean.png").path,
            ])
        let cer = CharacterErrorRate.of(output, against: try Repo.truth("clean"))
        print("CER clean.png via the Python client: \(String(format: "%.2f", cer * 100)) %")
        #expect(cer <= 0.02, "\(output)")
    }
}
