import Foundation
import Ledger
import OCRClient
import PostgresSupport
import Subprocess
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import Worker

/// PostgreSQL that stops answering (SIGSTOP on the postmaster and its backends: a frozen
/// VM, a stalled volume) under two pods sharing one key: their provider requests go on at
/// the local share while it is stopped, and they share the key again once it answers.
///
/// The server is a throwaway of the test's own (`scripts/postgres start`), so stopping it
/// never stalls the other suites' database. About 15 s: the point is what real PostgreSQL
/// does when stopped, which no fake shows.
@Suite("Shared budget with PostgreSQL stopped", .tags(.postgres), .serialized)
struct SharedBudgetPauseTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `scripts/postgres ARGUMENTS`; its standard output, trimmed.
    static func postgresScript(_ arguments: [String]) async throws -> String {
        let result = try await Subprocess.run(
            .path(FilePath(root.appendingPathComponent("scripts/postgres").path)), arguments: Arguments(arguments),
            output: .string(limit: 4096), error: .discarded)
        guard result.terminationStatus.isSuccess else { throw ScriptFailed(arguments: arguments, status: "\(result.terminationStatus)") }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct ScriptFailed: Error {
        var arguments: [String]
        var status: String
    }

    /// The postmaster listening on `port` and every process it started (backends,
    /// checkpointer, ...), from /proc.
    static func serverProcesses(port: Int) throws -> [pid_t] {
        let entries = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { pid_t($0) }
        func arguments(_ pid: pid_t) -> [String] {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }
        func parent(_ pid: pid_t) -> pid_t? {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
            // "pid (name) state ppid ...": the name may hold spaces, so read after the last ')'.
            let text = String(decoding: data, as: UTF8.self)
            guard let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            return fields.count > 1 ? pid_t(fields[1]) : nil
        }
        let postmasters = entries.filter { pid in
            let argv = arguments(pid)
            guard let program = argv.first, program.hasSuffix("postgres") else { return false }
            return zip(argv, argv.dropFirst()).contains { $0 == "-p" && $1 == "\(port)" }
        }
        guard let postmaster = postmasters.first, postmasters.count == 1 else { return [] }
        return [postmaster] + entries.filter { parent($0) == postmaster }
    }

    /// Sends requests through `budget` as fast as it grants them, counting the grants.
    final class Sender: Sendable {
        let granted = Atomic<Int>(0)

        func run(_ budget: RequestBudget) async {
            while !Task.isCancelled {
                do { try await budget.acquire(.existingTask) } catch { return }
                granted.add(1, ordering: .relaxed)
            }
        }

        var count: Int { granted.load(ordering: .relaxed) }
    }

    static func waitFor(_ what: String, within limit: Duration, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct TimedOut: Error, CustomStringConvertible {
        var what: String
        var description: String { "timed out waiting: \(what)" }
    }

    @Test("two pods on one key: provider traffic goes on at the local share while PostgreSQL is stopped; sharing resumes after SIGCONT")
    func stoppedDatabase() async throws {
        let name = "budget-pause-\(getpid())"
        let url = try await Self.postgresScript(["start", name])
        do {
            try await run(url: url)
        } catch {
            _ = try? await Self.postgresScript(["stop", name])
            throw error
        }
        _ = try await Self.postgresScript(["stop", name])
    }

    private func run(url: String) async throws {
        let port = try #require(URLComponents(string: url)?.port)
        var options = try PostgresConnectionOptions(url: url)
        options.connectTimeout = .seconds(2)
        // A key of 4 requests per second; each pod's local share is half of it.
        let keyLimit = 4.0
        var pods: [(shared: SharedRequestBudget, store: PostgresRequestBudget)] = []
        for pod in ["pod-a", "pod-b"] {
            // A pool each, as two processes have.
            let store = try await PostgresRequestBudget(options: options, operationTimeout: .seconds(2))
            let shared = SharedRequestBudget(
                budget: RequestBudget(configuration: .init(requestsPerSecond: keyLimit)), store: store, apiKey: "pause-test-key",
                keyLimit: keyLimit, podID: pod, fallbackPods: 2, storeTimeout: .milliseconds(500))
            pods.append((shared, store))
        }
        let senders = [Sender(), Sender()]
        let tasks = pods.enumerated().flatMap { index, pod in
            [Task { await pod.shared.run() }, Task { await senders[index].run(pod.shared.budget) }]
        }
        defer { for task in tasks { task.cancel() } }

        // Sharing: both pods see each other through the database.
        try await Self.waitFor("both pods share the key", within: .seconds(15)) {
            pods.allSatisfy { !$0.shared.isOnLocalShare && $0.shared.metrics.isOnLocalShare == false }
                && senders.allSatisfy { $0.count >= 2 }
        }

        let processes = try Self.serverProcesses(port: port)
        try #require(processes.count >= 2, "the postmaster and its backends")
        // SIGCONT whatever happens below, before anything can throw.
        defer { for pid in processes { kill(pid, SIGCONT) } }
        for pid in processes { kill(pid, SIGSTOP) }

        try await Self.waitFor("both pods on their local share", within: .seconds(10)) {
            pods.allSatisfy { $0.shared.isOnLocalShare }
        }
        let before = senders.map(\.count)
        try await Task.sleep(for: .seconds(3))
        let during = zip(senders, before).map { $0.count - $1 }
        // At the local share, 2 requests per second each: about 6 in 3 s.
        for (pod, sent) in zip(["pod-a", "pod-b"], during) {
            #expect(sent >= 3, "\(pod) sent \(sent) requests in 3 s while PostgreSQL was stopped")
        }
        #expect(pods.allSatisfy { $0.shared.metrics.isOnLocalShare })

        for pid in processes { kill(pid, SIGCONT) }
        try await Self.waitFor("both pods share the key again", within: .seconds(20)) {
            pods.allSatisfy { !$0.shared.isOnLocalShare }
        }
        let resumed = senders.map(\.count)
        try await Self.waitFor("requests go on through the shared slots", within: .seconds(10)) {
            zip(senders, resumed).allSatisfy { $0.count >= $1 + 2 }
        }
        for task in tasks { task.cancel() }
        for pod in pods { await pod.store.close() }
    }
}
