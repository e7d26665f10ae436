import Foundation
import JobContract
import JobCore
import OCRClient
import OCRTaskAPI
import Testing

@testable import Worker

/// The transition table three ways at once: `JobMachine.transitions` (the data), the
/// table in docs/architecture.md (what readers see), and the machine's behaviour. The
/// document must list exactly the machine's rows, and a scenario per row drives a machine
/// into the row's situation and checks that it ends in the phase the row names and asks
/// for the effect it names.
@Suite("Job state machine: the documented table")
struct JobMachineTableTests {
    typealias T = JobMachineTests

    /// What a row's `next` column says the machine does.
    struct Expected: Equatable, CustomStringConvertible {
        var phase: JobPhase
        /// The effect's case name (`wait`, `create`, `settle`, ...).
        var effect: String
        var description: String { "\(phase.rawValue), \(effect)" }
    }

    /// The phase and the first effect named in a row's `next` column. "recreate" is the
    /// shared re-create step: with re-creates left it creates.
    static func expected(_ next: String) -> Expected? {
        if next.hasPrefix("recreate") { return Expected(phase: .creating, effect: "create") }
        let phaseName = String(next.prefix { $0.isLetter })
        guard let phase = JobPhase(rawValue: phaseName) else { return nil }
        // The first effect: the first `code` span, else the word after the comma ("failed",
        // "success": a settle).
        let effect: String
        if phase == .settling, next.contains(", failed") || next.contains(", success") {
            effect = "settle"
        } else if let tick = next.firstIndex(of: "`") {
            let rest = next[next.index(after: tick)...]
            effect = String(rest.prefix { $0.isLetter })
        } else if phase == .settling {
            effect = "settle"
        } else if phase == .awaitingClaim {
            effect = "wait"
        } else {
            effect = "publish"
        }
        return Expected(phase: phase, effect: effect)
    }

    static func effectName(_ effect: JobEffect) -> String {
        String("\(effect)".prefix { $0.isLetter })
    }

    static func key(_ row: JobMachine.Transition) -> String { "\(row.phase) | \(row.event) | \(row.rule)" }

    // MARK: Scenarios, one per row

    /// A result file the contract says not to retry (neither expired nor transient).
    static let unfetchable = ProviderFailure(action: .permanentFailure, code: "result_too_large", message: "the result file is too large")

    static let stored = Array(#"{"error":{"class":"provider_rejected","code":"-7","message":"bad"}}"#.utf8)

    /// A machine polling task `t1` that has just found it done with a file.
    static func rehosting(rules: JobMachine.Rules = T.rules) -> JobMachine {
        var m = T.polling(rules: rules)
        _ = m.handle(.polled(T.task(.success, file: "https://r/1")), at: T.at(2))
        return m
    }

    static func settling(failed: Bool = false) -> JobMachine {
        var m = rehosting()
        if failed {
            _ = m.handle(.rehostFailed(Self.unfetchable), at: T.at(3))
        } else {
            _ = m.handle(
                .rehosted(
                    .init(fileURL: "https://r/1", fileURLExpiresAt: T.d0, location: "file:///r", sizeBytes: 1, sha256: nil, contentType: "text/plain")
                ), at: T.at(3))
        }
        return m
    }

    static func publishing() -> JobMachine {
        var m = settling()
        _ = m.handle(.settled(T.row(.completed, taskID: "t1", attempts: 1, result: [1])), at: T.at(4))
        return m
    }

    static func failure(_ code: String) -> ProviderFailure {
        ProviderFailure(action: code == "-3" ? .uploadFileInstead : .permanentFailure, code: code, message: code)
    }

    /// Each scenario returns the machine after the row's event and the step it produced.
    static let scenarios: [String: @Sendable () -> (JobMachine, JobMachine.Step)] = [
        "any driving phase | (top of the loop) | the job's `deadline` passed": {
            var m = T.machine(deadline: T.d0.addingTimeInterval(-1))
            let step = m.start(at: T.at(0))
            return (m, step)
        },
        "accepted | start | ledger row settled": {
            var m = T.machine(T.row(.failed, result: stored))
            let step = m.start(at: T.at(0))
            return (m, step)
        },
        "accepted | start | row `submitted` with a task id": {
            var m = T.machine(T.row(.submitted, taskID: "t9", attempts: 1))
            let step = m.start(at: T.at(0))
            return (m, step)
        },
        "accepted | start | row `creating` under a claim that is not ours": {
            var m = T.machine(T.row(.creating, attempts: 3, updated: -5))
            let step = m.start(at: T.at(0))
            return (m, step)
        },
        "accepted | start | otherwise": {
            var m = T.machine()
            let step = m.start(at: T.at(0))
            return (m, step)
        },
        "awaitingClaim | (row read) | row `submitted` with a task id": {
            var m = T.machine(T.row(.creating, attempts: 3, updated: -5))
            _ = m.start(at: T.at(0))
            _ = m.handle(.woke, at: T.at(1))
            let step = m.handle(.ledgerRead(T.row(.submitted, taskID: "theirs", attempts: 3)), at: T.at(1))
            return (m, step)
        },
        "awaitingClaim | (row read) | row settled": {
            var m = T.machine(T.row(.creating, attempts: 3, updated: -5))
            _ = m.start(at: T.at(0))
            _ = m.handle(.woke, at: T.at(1))
            let step = m.handle(.ledgerRead(T.row(.completed, taskID: "t", attempts: 3, result: [1])), at: T.at(1))
            return (m, step)
        },
        "awaitingClaim | (row read) | row `creating`, claim renewed within the claim timeout (by the ledger's clock)": {
            var m = T.machine(T.row(.creating, attempts: 3, updated: -5))
            _ = m.start(at: T.at(0))
            _ = m.handle(.woke, at: T.at(1))
            let step = m.handle(.ledgerRead(T.row(.creating, attempts: 3, updated: 0)), at: T.at(1))
            return (m, step)
        },
        "awaitingClaim | (row read) | row `creating`, claim older than the claim timeout (by the ledger's clock)": {
            var m = T.machine(T.row(.creating, attempts: 3, updated: -5))
            _ = m.start(at: T.at(0))
            _ = m.handle(.woke, at: T.at(40))
            let step = m.handle(.ledgerRead(T.row(.creating, attempts: 3, updated: -5)), at: T.at(40))
            return (m, step)
        },
        "creating | created | ": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            let step = m.handle(.created(record: T.row(.submitted, taskID: "t1", attempts: 1), taskID: "t1"), at: T.at(0))
            return (m, step)
        },
        "creating | createFailed | permanent (400, 413, ...)": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            let step = m.handle(.createFailed(T.http(413, .create), claimed: 1, record: nil), at: T.at(0))
            return (m, step)
        },
        "creating | createFailed | our download of the source refused (forbidden address)": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            let refused = ProviderFailure(action: .permanentFailure, code: "forbidden_address", isForbiddenAddress: true, message: "no")
            let step = m.handle(.createFailed(refused, claimed: 1, record: nil), at: T.at(0))
            return (m, step)
        },
        "creating | createFailed | -3 / source fetch failure, no upload tried yet": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            let step = m.handle(.createFailed(failure("-3"), claimed: 1, record: T.row(.creating, attempts: 1)), at: T.at(0))
            return (m, step)
        },
        "creating | createFailed | -3 after our own upload": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            _ = m.handle(.createFailed(failure("-3"), claimed: 1, record: T.row(.creating, attempts: 1)), at: T.at(0))
            let step = m.handle(.createFailed(failure("-3"), claimed: 2, record: T.row(.creating, attempts: 2)), at: T.at(0))
            return (m, step)
        },
        "creating | createFailed | transient, 401, circuit open": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            let step = m.handle(.createFailed(T.http(503, .create), claimed: 1, record: T.row(.creating, attempts: 1)), at: T.at(0))
            return (m, step)
        },
        "creating | createInterrupted | row `submitted` meanwhile": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            let step = m.handle(.createInterrupted(claimed: 1, record: T.row(.submitted, taskID: "t1", attempts: 1)), at: T.at(0))
            return (m, step)
        },
        "creating | createInterrupted | otherwise (claim lost, ledger down)": {
            var m = T.machine()
            _ = m.start(at: T.at(0))
            let step = m.handle(.createInterrupted(claimed: nil, record: T.row(.creating, attempts: 1)), at: T.at(0))
            return (m, step)
        },
        "polling | (before a poll) | task older than the task timeout": {
            var m = T.polling()
            _ = m.handle(.polled(T.task(.processing)), at: T.at(1))
            let step = m.handle(.woke, at: T.at(1801))
            return (m, step)
        },
        "polling | polled | state 0, 2, 3, 4 (pending)": {
            var m = T.polling()
            let step = m.handle(.polled(T.task(.processing)), at: T.at(1))
            return (m, step)
        },
        "polling | polled | state 1 with a file": {
            var m = T.polling()
            let step = m.handle(.polled(T.task(.success, file: "https://r/1")), at: T.at(1))
            return (m, step)
        },
        "polling | polled | state 1 without a file": {
            var m = T.polling()
            let step = m.handle(.polled(T.task(.success)), at: T.at(1))
            return (m, step)
        },
        "polling | polled | state -1, -2, -8": {
            var m = T.polling()
            let step = m.handle(.polled(T.task(.failed)), at: T.at(1))
            return (m, step)
        },
        "polling | polled | state -3, no upload tried yet": {
            var m = T.polling()
            let step = m.handle(.polled(T.task(.sourceDownloadFailed)), at: T.at(1))
            return (m, step)
        },
        "polling | polled | state -3 after our own upload": {
            var m = T.polling()
            _ = m.handle(.polled(T.task(.sourceDownloadFailed)), at: T.at(1))
            _ = m.handle(.created(record: T.row(.submitted, taskID: "t2", attempts: 2), taskID: "t2"), at: T.at(1))
            _ = m.handle(.woke, at: T.at(2))
            let step = m.handle(.polled(T.task(.sourceDownloadFailed, id: "t2")), at: T.at(2))
            return (m, step)
        },
        "polling | polled | state -5, -7, unknown negative": {
            var m = T.polling()
            let step = m.handle(.polled(T.task(.invalidFile)), at: T.at(1))
            return (m, step)
        },
        "polling | pollFailed | 404 (task lost)": {
            var m = T.polling()
            let step = m.handle(.pollFailed(T.http(404, .query)), at: T.at(1))
            return (m, step)
        },
        "polling | pollFailed | permanent": {
            var m = T.polling()
            let step = m.handle(.pollFailed(T.http(400, .query)), at: T.at(1))
            return (m, step)
        },
        "polling | pollFailed | transient, 401, circuit open": {
            var m = T.polling()
            let step = m.handle(.pollFailed(T.http(503, .query)), at: T.at(1))
            return (m, step)
        },
        "rehosting | rehosted | ": {
            var m = rehosting()
            let file = JobResult.ResultFile(
                fileURL: "https://r/1", fileURLExpiresAt: T.d0, location: "file:///r", sizeBytes: 1, sha256: nil, contentType: "text/plain")
            let step = m.handle(.rehosted(file), at: T.at(3))
            return (m, step)
        },
        "rehosting | rehostFailed | URL expired, refetches left": {
            var m = rehosting()
            let step = m.handle(.rehostFailed(T.http(403, .download)), at: T.at(3))
            return (m, step)
        },
        "rehosting | rehostFailed | URL expired, no refetches left": {
            var rules = T.rules
            rules.maxRefetches = 0
            var m = rehosting(rules: rules)
            let step = m.handle(.rehostFailed(T.http(403, .download)), at: T.at(3))
            return (m, step)
        },
        "rehosting | rehostFailed | transient": {
            var m = rehosting()
            let step = m.handle(.rehostFailed(T.http(503, .download)), at: T.at(3))
            return (m, step)
        },
        "rehosting | rehostFailed | anything else": {
            var m = rehosting()
            let step = m.handle(.rehostFailed(Self.unfetchable), at: T.at(3))
            return (m, step)
        },
        "rehosting | storeFailed | our store is down": {
            var m = rehosting()
            let step = m.handle(.storeFailed, at: T.at(3))
            return (m, step)
        },
        "(recreate) |  | re-creates left": {
            var m = T.polling()
            let step = m.handle(.pollFailed(T.http(404, .query)), at: T.at(1))
            return (m, step)
        },
        "(recreate) |  | none left": {
            var rules = T.rules
            rules.maxRecreates = 0
            var m = T.polling(rules: rules)
            let step = m.handle(.pollFailed(T.http(404, .query)), at: T.at(1))
            return (m, step)
        },
        "settling | settled | ": {
            var m = settling()
            let step = m.handle(.settled(T.row(.completed, taskID: "t1", attempts: 1, result: [1])), at: T.at(4))
            return (m, step)
        },
        "settling | settleRefused | row settled by another driver": {
            var m = settling()
            _ = m.handle(.settleRefused, at: T.at(4))
            let step = m.handle(.ledgerRead(T.row(.completed, taskID: "t1", attempts: 1, result: [2])), at: T.at(4))
            return (m, step)
        },
        "settling | settleRefused | row not settled": {
            var m = settling()
            _ = m.handle(.settleRefused, at: T.at(4))
            let step = m.handle(.ledgerRead(T.row(.submitted, taskID: "t1", attempts: 1)), at: T.at(4))
            return (m, step)
        },
        "publishing | sent | row `completed`, or `failed` never published": {
            var m = publishing()
            let step = m.handle(.sent, at: T.at(5))
            return (m, step)
        },
        "publishing | sent | otherwise": {
            var m = T.machine(T.row(.published, result: [1], published: true))
            _ = m.start(at: T.at(0))
            let step = m.handle(.sent, at: T.at(0))
            return (m, step)
        },
        "publishing | resultTooLarge | ": {
            var m = publishing()
            let step = m.handle(.resultTooLarge(bytes: 9_000_000), at: T.at(5))
            return (m, step)
        },
        "publishing | deadLettered | row `completed`, or `failed` never published": {
            var m = publishing()
            _ = m.handle(.resultTooLarge(bytes: 9_000_000), at: T.at(5))
            let step = m.handle(.deadLettered, at: T.at(5))
            return (m, step)
        },
        "publishing | deadLettered | otherwise": {
            var m = T.machine(T.row(.published, result: [1], published: true))
            _ = m.start(at: T.at(0))
            _ = m.handle(.resultTooLarge(bytes: 9_000_000), at: T.at(0))
            let step = m.handle(.deadLettered, at: T.at(0))
            return (m, step)
        },
        "markingPublished | marked | ": {
            var m = publishing()
            _ = m.handle(.sent, at: T.at(5))
            let step = m.handle(.marked, at: T.at(5))
            return (m, step)
        },
    ]

    // MARK: Tests

    @Test("docs/architecture.md lists exactly the machine's transitions, in order")
    func documentMatchesTheMachine() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- transitions:begin -->"))
        let end = try #require(text.range(of: "<!-- transitions:end -->"))
        let rows = text[begin.upperBound..<end.lowerBound].split(separator: "\n").dropFirst(2).map { line in
            line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let documented = rows.map { "\($0[0]) | \($0[1]) | \($0[2]) | \($0[3])" }
        let machine = JobMachine.transitions.map { "\($0.phase) | \($0.event) | \($0.rule) | \($0.next)" }
        #expect(documented == machine, "docs/architecture.md's table differs from JobMachine.transitions")
    }

    @Test("every row has a scenario, and every scenario is a row")
    func everyRowHasAScenario() {
        let rows = Set(JobMachine.transitions.map(Self.key))
        #expect(rows.subtracting(Self.scenarios.keys).sorted() == [], "rows without a scenario")
        #expect(Set(Self.scenarios.keys).subtracting(rows).sorted() == [], "scenarios of no row")
    }

    @Test("the machine does what each row says: the phase it names, the effect it names", arguments: JobMachine.transitions)
    func rowHolds(_ row: JobMachine.Transition) throws {
        let expected = try #require(Self.expected(row.next), "cannot read the row's next column: \(row.next)")
        let scenario = try #require(Self.scenarios[Self.key(row)], "no scenario for \(Self.key(row))")
        let (machine, step) = scenario()
        #expect(machine.phase == expected.phase, "\(Self.key(row)): phase \(machine.phase.rawValue), the row says \(expected)")
        #expect(Self.effectName(step.effect) == expected.effect, "\(Self.key(row)): effect \(step.effect), the row says \(expected)")
    }
}
