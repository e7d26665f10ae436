import Foundation

@testable import OCREngine

/// A scratch directory with one input file, and the engine's steps run on it.
struct EngineHarness {
    let directory: URL
    let input: URL
    let configuration: EngineConfiguration

    init(_ data: Data, configuration: EngineConfiguration = EngineConfiguration(workers: 1)) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("engine-harness-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        input = directory.appendingPathComponent("input")
        try data.write(to: input)
        self.configuration = configuration
    }

    func job(format: ResultFormat = .txt, forceOCR: Bool = false) throws -> OCRJob {
        var job = OCRJob(
            input: input, languages: try LanguageSelection.resolve(names: ["English"]).get(), password: nil,
            format: format, output: directory.appendingPathComponent("result.\(format.rawValue)"),
            workDirectory: directory.appendingPathComponent("work"), deadline: .now + .seconds(120))
        job.forceOCR = forceOCR
        return job
    }

    /// Plans the document (pages, text layers, limits) as the server does before an engine.
    func prepare(forceOCR: Bool = false) async throws -> Result<PreparedDocument, OCRFailure> {
        let pool = OCREnginePool(configuration: configuration)
        let job = try job(forceOCR: forceOCR)
        let result: Result<PreparedDocument, OCRFailure>
        do throws(OCRFailure) {
            result = .success(try await pool.prepare(job, cancel: CancelFlag()))
        } catch {
            result = .failure(error)
        }
        await pool.shutdown()
        return result
    }

    /// Plans and recognises the document into `format`.
    func process(format: ResultFormat = .txt, forceOCR: Bool = false) async throws -> Result<OCROutcome, OCRFailure> {
        let pool = OCREnginePool(configuration: configuration)
        let job = try job(format: format, forceOCR: forceOCR)
        let result: Result<OCROutcome, OCRFailure>
        do {
            result = .success(
                try await pool.withSlot { slot in try await pool.process(job, in: slot, cancel: CancelFlag()) { _ in } })
        } catch let failure as OCRFailure {
            result = .failure(failure)
        }
        await pool.shutdown()
        return result
    }

    /// Loads `pages` the way the engine's page producer does, with no planning before it:
    /// each page, or the failure that stopped it.
    func load(_ pages: [PageSource]) throws -> [Result<LoadedPage, OCRFailure>] {
        let job = try job()
        try FileManager.default.createDirectory(at: job.workDirectory, withIntermediateDirectories: true)
        let feed = PageFeed(capacity: pages.count)
        PageLoader(job: job, configuration: configuration, cancel: CancelFlag()).produce(pages, into: feed)
        var results: [Result<LoadedPage, OCRFailure>] = []
        for index in pages.indices {
            do throws(OCRFailure) {
                results.append(.success(try feed.take(index, cancel: CancelFlag(), deadline: .now + .seconds(10))))
            } catch {
                results.append(.failure(error))
                break
            }
        }
        return results
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
