import Foundation
import Ledger
import Logging
import PostgresSupport
import TestSupport
import Testing

@testable import PollPlanning
@testable import Worker

/// The poll planner's learned durations across restarts: the model's snapshot and
/// restore, what is dropped when stored entries cannot be a fit's, and the two stores in
/// the ledger's database (SQLite file; PostgreSQL with `OCR_TEST_POSTGRES_URL`).
@Suite("Poll planner: learned durations across restarts", .tags(.postgres))
struct PollPlannerPersistenceTests {
    static let key = PollPlannerTests.key
    static let sized = DurationKey(provider: "api.test", format: "pdf", sizeBucket: 4)
    static let bimodal = DurationKey(provider: "api.test", format: "docx")

    /// A model with a log-normal key (linear progress, so progress is trusted), a sized key
    /// and a key of two kinds of task (its mixture fitted).
    static func trained() -> DurationModel {
        let model = PollPlannerTests.trained(PollPlannerTests.settings(), shape: .linear)
        for i in 0..<60 {
            model.record(PollPlannerTests.timing(Double(20 + i % 5), shape: .linear, key: sized))
            model.record(PollPlannerTests.timing(i % 3 == 0 ? 25 + Double(i % 4) : 5 + Double(i % 2), shape: .linear, key: bimodal))
        }
        return model
    }

    static func fresh() -> DurationModel { DurationModel(settings: PollPlannerTests.settings(), coldStart: PollBackoff()) }

    @Test("a restored model plans every key as the saved one did: fits, mixture and progress trust")
    func roundTrip() throws {
        let saved = Self.trained()
        let entries = saved.snapshot()
        #expect(entries.count == 5) // key, sized, its size-less key, bimodal, progress
        let restored = Self.fresh()
        #expect(restored.restore(entries) == (restored: 5, dropped: 0))
        for key in [Self.key, Self.sized, Self.sized.withoutSize, Self.bimodal] {
            #expect(restored.planner(for: key) == saved.planner(for: key))
        }
        #expect(saved.planner(for: Self.key).progressIsPredictive)
        #expect(saved.planner(for: Self.bimodal).mixture != nil)
        // Learning goes on from the stored statistics alike.
        let timing = PollPlannerTests.timing(11, shape: .linear)
        saved.record(timing)
        restored.record(timing)
        #expect(restored.planner(for: Self.key) == saved.planner(for: Self.key))
    }

    @Test("what the pod learned since its start wins over stored entries")
    func learnedWins() {
        let model = Self.fresh()
        model.record(PollPlannerTests.timing(3, shape: .zero))
        let before = model.planner(for: Self.key)
        let (restored, _) = model.restore(Self.trained().snapshot())
        #expect(restored == 3) // sized, its size-less key, bimodal (and not key, nor progress: learned here)
        #expect(model.planner(for: Self.key) == before)
    }

    @Test("stored entries that cannot be a fit's are dropped, and nothing traps on them")
    func hostileEntries() throws {
        let good = try #require(Self.trained().snapshot()[Self.key.description])
        func replacing(_ old: String, _ new: String) -> String { good.replacingOccurrences(of: old, with: new) }
        let fit = try #require(StoredDurations.decoded(good)?.fit)
        var negative = fit
        negative.single.count = -1
        var variance = fit
        variance.single.varianceLog = -1
        var huge = fit
        huge.single.meanLog = 1e300
        var components = fit
        components.mixture.sums = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
        var shortSums = fit
        shortSums.mixture.sums = [[1], [1, 1, 1]]
        var longSeed = fit
        longSeed.mixture = .init(count: 99, seed: Array(repeating: 1, count: 50), sums: [])
        func entry(_ f: DurationFit.Statistics, format: String = "txt", bucket: Int? = nil) -> String {
            StoredDurations(format: format, sizeBucket: bucket, fit: f).encoded() ?? ""
        }
        let trust = ProgressTrust.Statistics(
            count: 5, usableShare: 2, meanError: 0, step: 1, boundHitRate: 1, usableCount: 5, stepCount: 5)
        let entries = [
            "garbage": "{not json",
            "empty": "",
            "inf": replacing(#""meanLog":"#, #""meanLog":1e999,"x":"#),
            "negative": entry(negative), "variance": entry(variance), "huge": entry(huge),
            "format": entry(fit, format: "../../etc"), "bucket": entry(fit, bucket: 99),
            "progress": StoredDurations(progress: trust).encoded() ?? "",
            "long": String(repeating: " ", count: StoredDurations.maximumBytes + 1) + good,
        ]
        for (name, text) in entries {
            let one = Self.fresh()
            #expect(one.restore([name: text]) == (restored: 0, dropped: 1), "\(name)")
        }
        let model = Self.fresh()
        let (restored, dropped) = model.restore(entries)
        #expect(restored == 0)
        #expect(dropped == entries.count)
        #expect(!model.planner(for: Self.key).isWarm)
        // A mixture that cannot be this pod's (a larger seed than its own, sums for three
        // components or of the wrong length) starts over; the single fit stays.
        for broken in [longSeed, components, shortSums] {
            let kept = Self.fresh()
            #expect(kept.restore(["mixture": entry(broken)]) == (restored: 1, dropped: 0))
            #expect(kept.planner(for: Self.key).isWarm)
            #expect(kept.planner(for: Self.key).durations == Self.trained().planner(for: Self.key).durations)
            #expect(kept.planner(for: Self.key).mixture == nil)
        }
    }

    @Test("SQLite: a restarted worker takes up the durations the last one stored in the ledger's file")
    func sqliteRestart() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("durations-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try await SQLiteJobLedger(location: .file(path))
        let logger = Logger(label: "test")
        let first = try #require(await WorkerService.openDurationStore(ledger: .init(backend: .sqliteFile(path: path)), logger: logger))
        let saved = Self.trained()
        #expect(await DurationModelPersistence(model: saved, store: first, logger: logger).save())
        await first.close()
        // Another provider's entries stay apart.
        let other = try await SQLiteDurationStore(path: path)
        try await other.saveDurations(provider: "elsewhere", entries: ["x": "{}"])
        await other.close()
        let second = try #require(await WorkerService.openDurationStore(ledger: .init(backend: .sqliteFile(path: path)), logger: logger))
        let restored = Self.fresh()
        await DurationModelPersistence(model: restored, store: second, logger: logger).load()
        #expect(restored.planner(for: Self.bimodal) == saved.planner(for: Self.bimodal))
        #expect(restored.planner(for: Self.key) == saved.planner(for: Self.key))
        #expect(try await second.loadDurations(provider: "elsewhere") == ["x": "{}"])
        await second.close()
        await ledger.close()
    }

    @Test("an in-memory ledger has no store: nothing outlives it")
    func inMemoryLedger() async {
        #expect(await WorkerService.openDurationStore(ledger: .init(backend: .sqliteInMemory), logger: Logger(label: "test")) == nil)
    }

    @Test("PostgreSQL: entries saved by one pod are read by the next, an entry of the same name replaced")
    func postgresStore() async throws {
        let options = try TestPostgres.options(schemaPrefix: "durations_test")
        let store = try await PostgresDurationStore(options: options)
        let saved = Self.trained()
        try await store.saveDurations(provider: "api.test", entries: saved.snapshot())
        try await store.saveDurations(provider: "api.test", entries: ["extra": "{}"])
        try await store.saveDurations(provider: "api.test", entries: ["extra": "{\"format\":\"txt\"}"])
        await store.close()
        let again = try await PostgresDurationStore(options: options)
        let entries = try await again.loadDurations(provider: "api.test")
        #expect(entries["extra"] == "{\"format\":\"txt\"}")
        let restored = Self.fresh()
        #expect(restored.restore(entries) == (restored: 5, dropped: 1))
        #expect(restored.planner(for: Self.sized) == saved.planner(for: Self.sized))
        #expect(try await again.loadDurations(provider: "elsewhere").isEmpty)
        await again.close()
    }
}
