import AsyncHTTPClient
import Foundation
import Kafka
import NIOCore
import TestSupport
import Testing

/// The outcome table of docs/architecture.md, end to end: the real broker and real
/// ocr-worker processes against ``FaultProvider``, which misbehaves per document.
@Suite("Provider faults end to end", .serialized, .tags(.e2e, .broker, .tesseract))
struct ProviderFaultTests {
    func sqlite(_ pipeline: Pipeline) -> String { "sqlite://" + pipeline.work.appendingPathComponent("ledger.db").path }

    /// A unique document name per test run (the provider's scripts are keyed by it).
    func doc(_ stem: String) -> String { "\(stem)-\(UUID().uuidString.prefix(6).lowercased()).png" }

    /// Starts a worker that talks to `provider`.
    @discardableResult
    func startWorker(_ pipeline: Pipeline, _ provider: FaultProvider, extra: [String: String] = [:]) async throws -> Int {
        var env = ["OCR_PROVIDER_URL": provider.baseURL, "OCR_PROVIDER_API_KEY": provider.apiKey]
        env.merge(extra) { _, new in new }
        return try await pipeline.startWorker("worker-1", ledger: sqlite(pipeline), extra: env).httpPort
    }

    func error(_ record: KafkaConsumerMessage?) -> [String: Any] { record?.json["error"] as? [String: Any] ?? [:] }

    func header(_ record: KafkaConsumerMessage?, _ name: String) -> String? { record?.headers.last(named: name)?.stringValue }

    /// Fixed wait, used only to show that something does not happen (a late dead letter).
    func settle() async throws { try await Task.sleep(for: .seconds(2)) }

    // MARK: Permanent failure

    @Test("500 bursts on create and on query are retried; the job succeeds, nothing dead-lettered")
    func serverErrorBursts() async throws {
        try await Pipeline.with(name: "fault-500") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                let document = doc("burst")
                provider.script(document, .init(createFaults: [500, 502, 503], queryFaults: [500, 500, 503]))
                try await startWorker(pipeline, provider)

                try await pipeline.publish([(key: "burst", value: Pipeline.job("burst", url: provider.documentURL(document)))])
                try await results.waitFor("the result of burst", timeout: .seconds(90)) { $0.contains { $0.keyString == "burst" } }
                try await settle()

                let result = results.byKey["burst"]
                #expect(result?.json["status"] as? String == "succeeded", "\(result?.json ?? [:])")
                #expect(provider.createRequests(document) == 4, "3 failed create requests, then one that created the task")
                #expect(provider.creates(document).count == 1, "one task")
                #expect(provider.queries(document) >= 4, "3 failed queries, then at least one answered")
                #expect(try contents(of: result) == FaultProvider.resultText(document))
                #expect(deadLetters.all.isEmpty, "nothing dead-lettered")
                print("e2e faults: 500 bursts -> \(provider.createRequests(document)) create requests, \(provider.queries(document)) queries")
                await results.close()
                await deadLetters.close()
            }
        }
    }

    @Test("a 429 storm with Retry-After is retried, each retry waits Retry-After, and the job succeeds")
    func throttleStorm() async throws {
        try await Pipeline.with(name: "fault-429") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                let document = doc("storm")
                let retryAfter = 2
                provider.script(document, .init(createFaults: [429, 429, 429], queryFaults: [429, 429, 429], retryAfter: retryAfter))
                try await startWorker(pipeline, provider)

                try await pipeline.publish([(key: "storm", value: Pipeline.job("storm", url: provider.documentURL(document)))])
                try await results.waitFor("the result of storm", timeout: .seconds(120)) { $0.contains { $0.keyString == "storm" } }
                try await settle()

                let result = results.byKey["storm"]
                #expect(result?.json["status"] as? String == "succeeded", "\(result?.json ?? [:])")
                #expect(provider.creates(document).count == 1)
                #expect(deadLetters.all.isEmpty, "nothing dead-lettered")
                // The gap between each 429 and the next API request for the document.
                let api = provider.events(document).filter { $0.kind == .create || $0.kind == .query }
                var gaps: [Duration] = []
                for (i, event) in api.enumerated() where event.status == 429 && i + 1 < api.count {
                    gaps.append(api[i + 1].arrivedAt - event.repliedAt)
                }
                #expect(gaps.count == 6, "six 429s, each followed by a retry")
                for gap in gaps {
                    #expect(gap >= .seconds(retryAfter) - .milliseconds(50), "a retry came \(gap) after a 429 with Retry-After: \(retryAfter)")
                }
                print(
                    "e2e faults: 429 gaps (Retry-After \(retryAfter) s): \(gaps.map { String(format: "%.2f", Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) }.joined(separator: ", ")) s"
                )
                await results.close()
                await deadLetters.close()
            }
        }
    }

    // MARK: Deployment fault

    @Test("401 for about 5 s: /readyz answers 503 meanwhile, nothing is dead-lettered, the job succeeds once the key works")
    func unauthorized() async throws {
        try await Pipeline.with(name: "fault-401") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                let document = doc("revoked")
                let port = try await startWorker(pipeline, provider)
                try await waitForReadiness(port, 200, "ready before the fault", timeout: .seconds(60))

                provider.setUnauthorized(true)
                try await pipeline.publish([(key: "revoked", value: Pipeline.job("revoked", url: provider.documentURL(document)))])
                try await waitUntil("the first 401", timeout: .seconds(60)) { provider.unauthorizedReplies > 0 }
                let faultStart = ContinuousClock.now
                try await waitForReadiness(port, 503, "not ready after a 401", timeout: .seconds(5))
                let turnedUnready = ContinuousClock.now - faultStart
                // Keep the key refused for 5 s; /readyz must stay 503 all that time.
                var samples: [Int] = []
                while ContinuousClock.now < faultStart + .seconds(5) {
                    samples.append(try await readiness(port))
                    try await Task.sleep(for: .milliseconds(250))
                }
                #expect(!samples.isEmpty && samples.allSatisfy { $0 == 503 }, "/readyz during the 401s: \(samples)")
                #expect(provider.creates(document).isEmpty, "no task created while the key is refused")
                provider.setUnauthorized(false)
                let faultEnd = ContinuousClock.now

                try await results.waitFor("the result of revoked", timeout: .seconds(90)) { $0.contains { $0.keyString == "revoked" } }
                let recovered = ContinuousClock.now - faultEnd
                try await waitForReadiness(port, 200, "ready again", timeout: .seconds(30))
                try await settle()

                let result = results.byKey["revoked"]
                #expect(result?.json["status"] as? String == "succeeded", "\(result?.json ?? [:])")
                #expect(provider.creates(document).count == 1)
                #expect(deadLetters.all.isEmpty, "a deployment fault dead-letters nothing")
                print(
                    "e2e faults: 401 -> /readyz 503 after \(turnedUnready), \(samples.count) samples all 503, \(provider.unauthorizedReplies) 401 replies; job done \(recovered) after the key worked again"
                )
                await results.close()
                await deadLetters.close()
            }
        }
    }

    @Test("401 while a task runs: polling pauses, /readyz answers 503, then the same task completes; no re-create, nothing dead-lettered")
    func unauthorizedWhilePolling() async throws {
        try await Pipeline.with(name: "fault-401-poll") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                let document = doc("revoked-midway")
                provider.script(document, .init(runningPolls: 2))
                let port = try await startWorker(pipeline, provider)

                try await pipeline.publish([(key: "midway", value: Pipeline.job("midway", url: provider.documentURL(document)))])
                try await waitUntil("the first poll", timeout: .seconds(60)) { provider.queries(document) >= 1 }
                provider.setUnauthorized(true)
                try await waitUntil("a 401 on a poll", timeout: .seconds(30)) { provider.events(document, .query).contains { $0.status == 401 } }
                try await waitForReadiness(port, 503, "not ready after a 401", timeout: .seconds(5))
                try await Task.sleep(for: .seconds(5))
                let pollsWhileRefused = provider.events(document, .query).filter { $0.status == 401 }.count
                #expect(try await readiness(port) == 503)
                provider.setUnauthorized(false)

                try await results.waitFor("the result of midway", timeout: .seconds(90)) { $0.contains { $0.keyString == "midway" } }
                try await settle()
                let result = results.byKey["midway"]
                #expect(result?.json["status"] as? String == "succeeded", "\(result?.json ?? [:])")
                #expect(provider.creates(document).count == 1, "the recorded task is polled again, not re-created")
                #expect(pollsWhileRefused <= 2, "polling pauses while the key is refused (\(pollsWhileRefused) polls got 401)")
                #expect(deadLetters.all.isEmpty)
                await results.close()
                await deadLetters.close()
            }
        }
    }

    // MARK: The provider cannot fetch the source

    @Test("state -3: the worker uploads the document itself (image_file after image_url) and succeeds, or fails source_unreachable")
    func sourceUnreachable() async throws {
        try await Pipeline.with(name: "fault-3") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey, documentsOnPort80: true) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                let recovers = doc("unfetchable")
                let hopeless = doc("hopeless")
                provider.script(recovers, .init(states: [-3]))
                provider.script(hopeless, .init(states: [-3, -3, -3]))
                // pass_url: a URL the provider may fetch goes as image_url; a loopback host
                // needs OCR_ALLOW_PRIVATE_SOURCES, and only port 80 or 443 is passable.
                try await startWorker(pipeline, provider, extra: ["OCR_SOURCE_POLICY": "pass_url", "OCR_ALLOW_PRIVATE_SOURCES": "true"])

                try await pipeline.publish([
                    (key: "m3-ok", value: Pipeline.job("m3-ok", url: provider.documentURLOnPort80(recovers))),
                    (key: "m3-fail", value: Pipeline.job("m3-fail", url: provider.documentURLOnPort80(hopeless))),
                ])
                try await results.waitFor("both results", timeout: .seconds(120)) { all in
                    ["m3-ok", "m3-fail"].allSatisfy { id in all.contains { $0.keyString == id } }
                }
                try await deadLetters.waitFor("the dead letter of m3-fail", timeout: .seconds(30)) { $0.contains { $0.keyString == "m3-fail" } }
                try await settle()

                let ok = results.byKey["m3-ok"]
                #expect(ok?.json["status"] as? String == "succeeded", "\(ok?.json ?? [:])")
                #expect(provider.creates(recovers).map(\.sourceField) == ["image_url", "image_file"], "URL first, then the upload")
                #expect(provider.events(recovers, .source).count == 1, "the worker fetched the document once, to upload it")
                #expect(try contents(of: ok) == FaultProvider.resultText(recovers))

                let failed = results.byKey["m3-fail"]
                #expect(failed?.json["status"] as? String == "failed")
                #expect(error(failed)["class"] as? String == "source_unreachable")
                #expect(error(failed)["code"] as? String == "-3")
                #expect(provider.creates(hopeless).map(\.sourceField) == ["image_url", "image_file"], "one upload retry, then give up")
                #expect(header(deadLetters.byKey["m3-fail"], "ocr.error.class") == "source_unreachable")
                #expect(deadLetters.all.count == 1, "only the hopeless job is dead-lettered")
                await results.close()
                await deadLetters.close()
            }
        }
    }

    // MARK: A slow create and the create claim

    @Test("a slow create is not duplicated: a second pod (another group, same ledger) waits for the claim's task id; one task, both publish it")
    func liveClaimIsAwaited() async throws {
        try await Pipeline.with(name: "claim-live") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let results = try pipeline.collect(pipeline.resultsTopic)
                let document = doc("slow")
                // The create takes two and a half claim timeouts: only the renewals (every
                // 2 s) keep the claim from looking abandoned.
                provider.script(document, .init(createDelay: .seconds(15)))
                var ports: [Int] = []
                for (name, group) in [("pod-a", "claims-a"), ("pod-b", "claims-b")] {
                    ports.append(
                        try await pipeline.startWorker(
                            name, ledger: sqlite(pipeline),
                            extra: [
                                "OCR_PROVIDER_URL": provider.baseURL, "OCR_PROVIDER_API_KEY": provider.apiKey,
                                "OCR_GROUP_ID": "\(group)-\(pipeline.jobsTopic)", "OCR_CREATE_CLAIM_TIMEOUT_SECONDS": "6",
                            ]
                        ).httpPort)
                }
                for port in ports { try await waitForReadiness(port, 200, "in its group", timeout: .seconds(60)) }

                try await pipeline.publish([(key: "slow", value: Pipeline.job("slow", url: provider.documentURL(document)))])
                try await results.waitFor("both groups' results", timeout: .seconds(120)) { $0.filter { $0.keyString == "slow" }.count >= 2 }

                let published = results.all.filter { $0.keyString == "slow" }
                #expect(provider.createArrivals(document) == 1, "one create at the provider for the job")
                #expect(published.allSatisfy { $0.json["status"] as? String == "succeeded" })
                #expect(Set(published.compactMap { $0.json["task_id"] as? String }) == Set(provider.creates(document).compactMap(\.taskID)))
                let waited = ["pod-a", "pod-b"].filter { pipeline.log(of: $0).contains("waiting for its task id") }
                #expect(waited.count == 1, "exactly one pod waited for the other's claim (\(waited))")
                await results.close()
            }
        }
    }

    @Test(
        "SIGTERM with a task still running: /healthz answers and /readyz says 503 during the drain; after the drain timeout the job is left to the next owner, exit 0"
    )
    func drainKeepsOperationsEndpoints() async throws {
        try await Pipeline.with(name: "drain") { pipeline in
            try await FaultProvider.with(apiKey: pipeline.apiKey) { provider in
                let deadLetters = try pipeline.collect(pipeline.deadLetterTopic)
                let document = doc("endless")
                provider.script(document, .init(runningPolls: 1_000_000))
                let drain = 6
                let port = try await startWorker(pipeline, provider, extra: ["OCR_DRAIN_TIMEOUT_SECONDS": "\(drain)"])
                try await waitForReadiness(port, 200, "in its group", timeout: .seconds(60))
                try await pipeline.publish([(key: "endless", value: Pipeline.job("endless", url: provider.documentURL(document)))])
                try await waitUntil("the task is being polled", timeout: .seconds(60)) { provider.queries(document) >= 1 }

                var healthDuringDrain = 0
                let (status, took) = try await pipeline.stop("worker-1", signal: SIGTERM, timeout: .seconds(drain + 40)) {
                    try await waitForReadiness(port, 503, "draining", timeout: .seconds(3))
                    healthDuringDrain = try await health(port)
                }
                #expect(healthDuringDrain == 200, "liveness holds while the worker drains")
                #expect(status == 0)
                #expect(took >= .seconds(drain), "the drain waited for the running job (took \(took))")
                #expect(took < .seconds(drain + 30), "and no longer than its timeout plus the close (took \(took))")
                #expect(pipeline.log(of: "worker-1").contains("drain timeout: cancelling unfinished jobs"))
                #expect(deadLetters.all.isEmpty, "a job cut off by the drain is not dead-lettered")
                #expect(provider.creates(document).count == 1)
                await deadLetters.close()
            }
        }
    }

    // MARK: Helpers

    func health(_ port: Int) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    /// The value of a sample on the worker's /metrics with exactly these labels, or nil.
    func metric(_ name: String, labels: [String: String] = [:], port: Int) async throws -> Double? {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 22)
        for line in String(buffer: body).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let series = line[..<space]
            let sampleName = series.prefix { $0 != "{" }
            guard sampleName == name else { continue }
            var found: [String: String] = [:]
            if let open = series.firstIndex(of: "{") {
                for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2 { found[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                }
            }
            if found == labels { return Double(line[line.index(after: space)...]) }
        }
        return nil
    }

    /// The rehosted result file's text.
    func contents(of result: KafkaConsumerMessage?) throws -> String? {
        guard let location = (result?.json["result"] as? [String: Any])?["location"] as? String,
            let url = URL(string: location), url.isFileURL
        else { return nil }
        return try String(contentsOf: url, encoding: .utf8)
    }

    func readiness(_ port: Int) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz"), timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    func waitForReadiness(_ port: Int, _ status: Int, _ description: String, timeout: Duration) async throws {
        try await waitUntil("/readyz \(status) (\(description))", timeout: timeout) { (try? await readiness(port)) == status }
    }

}
