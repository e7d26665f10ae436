import Foundation
import OCRClient
import OCRTaskAPI
import TestSupport
import Testing

/// The project's own client (OCRClient, what the worker uses) against ocr-server: create
/// with a password-protected PDF, poll, stream the searchable PDF down.
@Suite(.tags(.tesseract)) struct ClientContractTests {
    @Test func ocrClientRoundTrip() async throws {
        try await withServer { server, _ in
            let client = try OCRClient(
                configuration: OCRClientConfiguration(baseURL: server.base, apiKey: TestServer.key))
            do {
                let options = try TaskOptions(
                    languages: LanguageList(["English"]), password: "ocr-secret-42", format: .pdf)
                let created = try await client.createTask(
                    source: .file(path: Repo.samples.appendingPathComponent("protected.pdf").path), options: options)
                var record = try await client.queryTask(created.taskID)
                let deadline = ContinuousClock.now + .seconds(120)
                while record.state.isPending, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                    record = try await client.queryTask(created.taskID)
                }
                #expect(record.state == .success, "\(record)")
                #expect(record.completedAt != nil)
                let path = server.dataDirectory.appendingPathComponent("client-download.pdf").path
                let downloaded = try await client.downloadResult(from: record.file ?? "", into: FileResultSink(path: path))
                #expect(downloaded.contentType == "application/pdf")
                let text = try await run("/usr/bin/pdftotext", ["-raw", path, "-"])
                let cer = CharacterErrorRate.of(text, against: try Repo.truth("protected"))
                #expect(cer <= 0.02, "\(text)")
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }
}
