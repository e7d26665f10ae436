import Foundation
import Kafka
import TestSupport
import Testing

/// Workers killed with SIGKILL mid-run: every job still gets its result, tasks created
/// exceed the jobs by at most the number of kills (the one documented window: a crash
/// between the provider accepting a create and the ledger write), and nothing valid is
/// dead-lettered.
@Suite("Crash recovery end to end", .serialized, .tags(.e2e, .broker, .postgres, .tesseract))
struct CrashRecoveryTests {
    /// Kills a worker each time the results pass one of `killAt`, restarts it at once,
    /// and checks the run's outcome.
    func crashRun(_ pipeline: Pipeline, ledger: String, workers: Int, jobs count: Int, killAt: [Int]) async throws {
        let results = try pipeline.collect(pipeline.resultsTopic)
        let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
        var generation = 0
        for w in 0..<workers { try await pipeline.startWorker("worker-\(w)-0", ledger: ledger) }
        var alive = (0..<workers).map { "worker-\($0)-0" }

        let ids = (0..<count).map { "crash-\($0)" }
        // The lightest sample: this is about crash semantics, and ocr-server on two
        // cores is the bottleneck of the run.
        try await pipeline.publish(ids.map { id in (key: id, value: Pipeline.job(id, url: pipeline.sampleURL("clean.png"))) })

        for (kill, threshold) in killAt.enumerated() {
            try await results.waitFor("\(threshold) results before kill \(kill + 1)", timeout: .seconds(600)) {
                Set($0.compactMap(\.keyString)).count >= threshold
            }
            // A random moment shortly after the threshold, so the kill lands inside
            // creates, polls and publishes alike.
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...1500)))
            let victim = alive.remove(at: Int.random(in: 0..<alive.count))
            let (status, _) = try await pipeline.stop(victim, signal: SIGKILL)
            #expect(status == SIGKILL, "\(victim) was still running when killed")
            generation += 1
            let replacement = "worker-\(victim.split(separator: "-")[1])-\(generation)"
            try await pipeline.startWorker(replacement, ledger: ledger)
            alive.append(replacement)
        }

        try await results.waitFor("all \(count) results", timeout: .seconds(900)) { Set($0.compactMap(\.keyString)).count >= count }
        let byKey = results.byKey
        #expect(Set(byKey.keys) == Set(ids), "every job has a result")
        let failed = byKey.filter { $0.value.json["status"] as? String != "succeeded" }
        #expect(failed.isEmpty, "no job failed: \(failed.keys.sorted().prefix(5))")
        #expect(deadLetters.all.isEmpty, "nothing valid was dead-lettered")
        let tasks = try await pipeline.tasksCreated()
        #expect(tasks >= count)
        #expect(tasks <= count + killAt.count, "tasks created (\(tasks)) exceed the jobs by at most the kills (\(killAt.count))")
        print("e2e crash: \(count) jobs, \(killAt.count) kills, \(workers) worker(s): \(tasks) tasks created")
        await results.close()
        await deadLetters.close()
    }

    @Test("SIGKILL three times during a 300-job run (SQLite ledger): every job has a result, at most one extra task per kill")
    func crashWithSQLite() async throws {
        try await Pipeline.with(name: "crash-sqlite") { pipeline in
            let ledger = "sqlite://" + pipeline.work.appendingPathComponent("ledger.db").path
            try await crashRun(pipeline, ledger: ledger, workers: 1, jobs: 300, killAt: [40, 120, 200])
        }
    }

    @Test("the same crash run with the PostgreSQL ledger and two workers")
    func crashWithPostgres() async throws {
        let ledger = try TestPostgres.url(schemaPrefix: "e2e")
        try await Pipeline.with(name: "crash-pg") { pipeline in
            try await crashRun(pipeline, ledger: ledger, workers: 2, jobs: 300, killAt: [40, 120, 200])
        }
    }
}
