import Foundation
import JobCore
import Ledger
import TestSupport
import Testing

/// Two worker pods racing on the same rows (a rebalance overlap), simulated by two ledger
/// instances over the same database, each with its own connections.
@Suite("JobLedger races and durability (SQLite and PostgreSQL)", .tags(.postgres))
struct LedgerConcurrencyTests {
    @Test("20 concurrent markCreating + recordTask from two instances end in a consistent row", arguments: Backend.allCases)
    func createRace(backend: Backend) async throws {
        try await withLedger(backend) { first, harness in
            try await withSecondLedger(harness) { second in
                let jobID = newJobID("race")
                _ = try await first.accept(jobID: jobID, fingerprint: "fp", at: at(0))

                struct Outcome: Sendable {
                    var created: Bool
                    var recorded: JobRecord?
                    var unexpected: String?
                }
                let outcomes = await withTaskGroup(of: Outcome.self) { group in
                    for index in 0..<20 {
                        let ledger = index.isMultiple(of: 2) ? first : second
                        group.addTask {
                            var outcome = Outcome(created: false, recorded: nil, unexpected: nil)
                            do {
                                let creating = try await ledger.markCreating(jobID: jobID, at: at(Double(index)))
                                outcome.created = creating.state == .creating && creating.taskID == nil
                                outcome.recorded = try await ledger.recordTask(
                                    jobID: jobID, taskID: "task-\(index)", createAttempts: creating.createAttempts,
                                    at: at(Double(index) + 0.5))
                            } catch let error as LedgerError where error.code == .invalidTransition {
                                // Another racer's recordTask moved the job to submitted first,
                                // or a later markCreating made this racer's claim stale.
                            } catch {
                                outcome.unexpected = "\(error)"
                            }
                            return outcome
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                #expect(outcomes.compactMap(\.unexpected) == [])
                #expect(outcomes.filter(\.created).count == 20, "markCreating is allowed from every state the racers see")
                let recorded = outcomes.compactMap(\.recorded)
                #expect(!recorded.isEmpty)
                for record in recorded {
                    #expect(record.state == .submitted)
                    #expect(record.taskID?.hasPrefix("task-") == true)
                }

                let final = try #require(try await first.record(jobID: jobID))
                #expect(try await second.record(jobID: jobID) == final)
                #expect(final.createAttempts == 20, "every create intent is counted, none lost to the race")
                switch final.state {
                case .creating: #expect(final.taskID == nil)
                case .submitted: #expect(recorded.contains { $0.taskID == final.taskID })
                default: Issue.record("unexpected final state \(final.state)")
                }
            }
        }
    }

    @Test("claimCreate: of 20 pods racing to create one job's task (two instances), exactly one wins", arguments: Backend.allCases)
    func claimCreateRace(backend: Backend) async throws {
        try await withLedger(backend) { first, harness in
            try await withSecondLedger(harness) { second in
                for round in 0..<3 {
                    let jobID = newJobID("claim-\(round)")
                    // Round 0 claims a new job, round 1 a re-create from submitted, round 2
                    // a retry from creating.
                    let start: JobState = [.accepted, .submitted, .creating][round]
                    let seen = try await bring(first, jobID, to: start)
                    let results = await withTaskGroup(of: Result<JobRecord, LedgerError>.self) { group in
                        for index in 0..<20 {
                            let ledger = index.isMultiple(of: 2) ? first : second
                            group.addTask {
                                do {
                                    return .success(
                                        try await ledger.claimCreate(
                                            jobID: jobID, expectedCreateAttempts: seen.createAttempts, at: at(Double(index))))
                                } catch let error as LedgerError {
                                    return .failure(error)
                                } catch {
                                    return .failure(LedgerError(code: .unavailable, message: "\(error)"))
                                }
                            }
                        }
                        return await group.reduce(into: []) { $0.append($1) }
                    }
                    let winners = results.compactMap { try? $0.get() }
                    #expect(winners.count == 1, "from \(start)")
                    let losers = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
                    #expect(Set(losers.map(\.code)) == [.invalidTransition])
                    let final = try #require(try await second.record(jobID: jobID))
                    #expect(final.state == .creating)
                    #expect(final.taskID == nil)
                    #expect(final.createAttempts == seen.createAttempts + 1)
                    #expect(winners.first == final)
                }

                // Refused where markCreating is, and for unknown jobs.
                let done = newJobID("claim-done")
                let completed = try await bring(first, done, to: .completed)
                await expectLedgerError(.invalidTransition) {
                    _ = try await first.claimCreate(jobID: done, expectedCreateAttempts: completed.createAttempts, at: at(9))
                }
                #expect(try await first.record(jobID: done) == completed)
                await expectLedgerError(.notFound) {
                    _ = try await first.claimCreate(jobID: newJobID(), expectedCreateAttempts: 0, at: at(9))
                }
            }
        }
    }

    @Test("two concurrent completes (and complete against fail) on a submitted job: exactly one wins", arguments: Backend.allCases)
    func completeRace(backend: Backend) async throws {
        try await withLedger(backend) { first, harness in
            try await withSecondLedger(harness) { second in
                for round in 0..<10 {
                    let jobID = newJobID("complete-\(round)")
                    try await bring(first, jobID, to: .submitted)
                    let messages: [[UInt8]] = [Array("from first \(round)".utf8), Array("from second \(round)".utf8)]
                    let racingFail = round.isMultiple(of: 3)
                    let results = await withTaskGroup(of: (Int, Result<JobRecord, LedgerError>).self) { group in
                        for (index, ledger) in [first, second].enumerated() {
                            group.addTask {
                                do {
                                    let record =
                                        racingFail && index == 1
                                        ? try await ledger.fail(jobID: jobID, resultMessage: messages[index], at: at(10))
                                        : try await ledger.complete(jobID: jobID, resultMessage: messages[index], at: at(10))
                                    return (index, .success(record))
                                } catch let error as LedgerError {
                                    return (index, .failure(error))
                                } catch {
                                    return (index, .failure(LedgerError(code: .unavailable, message: "\(error)")))
                                }
                            }
                        }
                        return await group.reduce(into: []) { $0.append($1) }
                    }
                    let winners = results.filter { if case .success = $0.1 { true } else { false } }
                    let stored = try #require(try await second.record(jobID: jobID))
                    if racingFail {
                        // fail is allowed from completed: when complete wins first, fail may still
                        // follow; what must hold is that the row is one writer's whole result.
                        #expect(!winners.isEmpty)
                        #expect(stored.state == .failed ? stored.resultMessage == messages[1] : stored.resultMessage == messages[0])
                    } else {
                        #expect(winners.count == 1, "round \(round): \(results)")
                        let losers = results.compactMap { if case .failure(let error) = $0.1 { error } else { nil } }
                        #expect(losers.map(\.code) == [.invalidTransition])
                        if let winner = winners.first?.0 {
                            #expect(stored.state == .completed)
                            #expect(stored.resultMessage == messages[winner])
                        }
                    }
                }
            }
        }
    }

    @Test("20 concurrent accepts of one job id with different fingerprints: exactly one is new, all see its row", arguments: Backend.allCases)
    func acceptRace(backend: Backend) async throws {
        try await withLedger(backend) { first, harness in
            try await withSecondLedger(harness) { second in
                let jobID = newJobID("accept-race")
                let results = try await withThrowingTaskGroup(of: (record: JobRecord, isNew: Bool).self) { group in
                    for index in 0..<20 {
                        let ledger = index.isMultiple(of: 2) ? first : second
                        group.addTask { try await ledger.accept(jobID: jobID, fingerprint: "fp-\(index)", at: at(Double(index))) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let fresh = results.filter(\.isNew)
                #expect(fresh.count == 1)
                let winner = try #require(fresh.first?.record)
                #expect(results.allSatisfy { $0.record == winner })
            }
        }
    }

    @Test("data survives closing and reopening the ledger; opening twice at once is safe", arguments: Backend.allCases)
    func survivesReopen(backend: Backend) async throws {
        let harness = try LedgerHarness(backend)
        defer { harness.remove() }
        // Two instances opening a fresh location at once both create (or find) the schema.
        async let openedA = harness.open()
        async let openedB = harness.open()
        let (a, b) = try await (openedA, openedB)
        await b.close()

        let jobs = (0..<5).map { newJobID("durable-\($0)") }
        var written: [JobRecord] = []
        for (index, jobID) in jobs.enumerated() {
            written.append(try await bring(a, jobID, to: JobState.allCases[index % JobState.allCases.count]))
        }
        try await a.recordPolls(jobID: jobs[2], count: 7, at: at(50))
        written[2] = try #require(try await a.record(jobID: jobs[2]))
        let counts = try await a.countByState()
        await a.close()

        let reopened = try await harness.open()
        for record in written {
            #expect(try await reopened.record(jobID: record.jobID) == record)
        }
        #expect(try await reopened.countByState() == counts)
        // And it is writable: the transitions go on where they stopped.
        _ = try await reopened.markCreating(jobID: jobs[0], at: at(60))
        await reopened.close()

        let third = try await harness.open()
        #expect(try await third.record(jobID: jobs[0])?.state == .creating)
        await third.close()
    }
}
