import Foundation
import NIOCore
import OCRClient
import OCRTaskAPI
import TestSupport
import Testing

/// The client against the fault-injecting server. Serialized: timing and memory figures
/// must not compete with each other.
@Suite(.serialized) struct ClientIntegrationTests {
    static let sourceFields: Set<String> = [TaskAPI.Field.imageURL, TaskAPI.Field.imageFile, TaskAPI.Field.file]

    // MARK: Source modes

    @Test func fetchableURLIsPassedAsImageURL() async throws {
        try await Harness.run { h in
            let url = "https://docs.example.com/scans/a.pdf?sig=\(Harness.querySecret)"
            let result = try await h.client.createTask(source: .url(url), options: Harness.options)
            #expect(result.sourceMode == .url && result.taskID == "task-1")
            let create = try #require(h.server.requests.first)
            #expect(create.method == "POST" && create.path == TaskAPI.createPath)
            #expect(create.header(TaskAPI.apiKeyHeader) == Harness.apiKey)
            #expect(create.formComplete)
            #expect(create.parts.map(\.name) == ["image_url", "language", "password", "format"])
            #expect(create.parts.filter { Self.sourceFields.contains($0.name) }.count == 1)
            #expect(create.parts[0].text == url && create.parts[0].filename == nil)
            #expect(create.parts[1].text == "English,Digits")
            #expect(create.parts[2].text == Harness.password)
            #expect(create.parts[3].text == "pdf")

            // A URL the job decoder already checked is sent the same way.
            let checked = try await h.client.createTask(source: .checkedURL(try DocumentURL(url)), options: Harness.options)
            #expect(checked.sourceMode == .url)
            let second = try #require(h.server.requests.last)
            #expect(second.parts.map(\.name) == create.parts.map(\.name) && second.parts[0].text == url)
        }
    }

    @Test func unfetchableURLIsDownloadedAndUploaded() async throws {
        try await Harness.run { h in
            let bytes = Array(PatternContent.block[0..<300_000])
            h.server.addSource("/source/scan%20one.pdf", bytes: bytes)
            // Loopback and not port 80/443: the provider could not fetch it, so auto uploads.
            let url = "\(h.server.baseURL)/source/scan%20one.pdf?token=\(Harness.querySecret)"
            let result = try await h.client.createTask(source: .url(url), options: Harness.options)
            #expect(result.sourceMode == .downloadAndUpload && result.uploadedBytes == 300_000)
            let requests = h.server.requests
            try #require(requests.count == 2)
            #expect(requests[0].method == "GET" && requests[0].header(TaskAPI.apiKeyHeader) == nil)
            let create = requests[1]
            #expect(create.header(TaskAPI.apiKeyHeader) == Harness.apiKey)
            #expect(create.formComplete)
            #expect(create.parts.map(\.name) == ["language", "password", "format", "image_file"])
            #expect(create.parts.filter { Self.sourceFields.contains($0.name) }.count == 1)
            let file = create.parts[3]
            #expect(file.filename == "scan one.pdf" && file.contentType == "application/pdf")
            #expect(file.size == 300_000 && file.prefix == bytes)
            #expect(create.parts[0].text == "English,Digits" && create.parts[2].text == "pdf")
            #expect(create.header("Content-Length") == "\(create.bodyBytes)")
        }
    }

    @Test func uploadPolicyUploadsEvenFetchableURLsAndPassPolicyRefusesOthers() async throws {
        try await Harness.run(configure: { $0.sourcePolicy = .passURL }) { h in
            let error = await h.expectError { () async throws(OCRClientError) in
                try await h.client.createTask(source: .url("\(h.server.baseURL)/x.pdf"), options: Harness.options)
            }
            #expect(error?.code == .invalidRequest && error?.field == "image_url")
            #expect(h.server.requests.isEmpty)
        }
        try await Harness.run(configure: { $0.sourcePolicy = .upload }) { h in
            h.server.addSource("/source/b.png", bytes: [1, 2, 3, 4])
            let result = try await h.client.createTask(
                source: .url("\(h.server.baseURL)/source/b.png"), options: Harness.options)
            #expect(result.sourceMode == .downloadAndUpload)
            #expect(h.server.requests.last?.parts.map(\.name) == ["language", "password", "format", "image_file"])
        }
    }

    @Test func localFileIsStreamedAsImageFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ocr-\(UUID()).png").path
        try PatternContent.writeFile(at: path, size: 1_500_000)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await Harness.run { h in
            let result = try await h.client.createTask(source: .file(path: path), options: Harness.options)
            #expect(result.sourceMode == .file && result.uploadedBytes == 1_500_000)
            let create = try #require(h.server.requests.first)
            #expect(create.parts.map(\.name) == ["language", "password", "format", "image_file"])
            #expect(create.parts[3].contentType == "image/png")
            #expect(create.parts[3].sha256 == PatternContent.sha256(size: 1_500_000))
        }
    }

    @Test func invalidRequestsFailBeforeSending() async throws {
        try await Harness.run { h in
            let longPassword = Harness.password + "-and-far-too-long-0123456789"
            do {
                _ = try TaskOptions(password: longPassword)
                Issue.record("a 40-character password passed")
            } catch let error as TaskRequestError {
                let wrapped = h.note(OCRClientError(error))
                #expect(wrapped.field == "password" && wrapped.action == .permanentFailure)
                #expect(!wrapped.description.contains(longPassword))
            } catch {
                Issue.record("unexpected \(error)")
            }
            for (source, field) in [
                (DocumentSource.url("ftp://example.com/a.pdf"), "image_url"),
                (.url("not a url"), "image_url"),
                (.file(path: "/nonexistent/doc.pdf"), "image_file"),
            ] {
                let error = await h.expectError { () async throws(OCRClientError) in
                    try await h.client.createTask(source: source, options: Harness.options)
                }
                #expect(error?.field == field && error?.action == .permanentFailure)
            }
            #expect(h.server.requests.isEmpty)
        }
    }

    // MARK: Statuses and states

    @Test(arguments: [
        (400, CallerAction.permanentFailure, CallerAction.permanentFailure),
        (401, .deploymentFault, .deploymentFault),
        (404, .deploymentFault, .recreateTask),
        (413, .permanentFailure, .permanentFailure),
        (429, .retryLater(after: nil), .retryLater(after: nil)),
        (500, .retryLater(after: nil), .retryLater(after: nil)),
    ])
    func statusLeadsToTableAction(status: Int, onCreate: CallerAction, onQuery: CallerAction) async throws {
        try await Harness.run { h in
            h.server.inject(.status(status), on: TaskAPI.createPath)
            let createError = await h.expectError { () async throws(OCRClientError) in
                try await h.client.createTask(source: .url("https://example.com/a.pdf"), options: Harness.options)
            }
            #expect(createError?.code == .httpStatus && createError?.status == status)
            #expect(createError?.endpoint == .create && createError?.action == onCreate)
            #expect(createError?.providerMessage == "status \(status)")

            h.server.inject(.status(status), on: TaskAPI.createPath)
            let queryError = await h.expectError { () async throws(OCRClientError) in
                try await h.client.queryTask("task-9")
            }
            #expect(queryError?.status == status && queryError?.endpoint == .query && queryError?.action == onQuery)
        }
    }

    @Test func wrongKeyIsADeploymentFault() async throws {
        try await Harness.run(configure: { $0.apiKey = "sk-wrong-key-0000" }) { h in
            let error = await h.expectError { () async throws(OCRClientError) in try await h.client.queryTask("t") }
            #expect(error?.status == 401 && error?.action == .deploymentFault)
        }
    }

    @Test func envelopeStatusCountsWhenHTTPSaysOK() async throws {
        try await Harness.run { h in
            h.server.inject(.envelopeStatus(401))
            let error = await h.expectError { () async throws(OCRClientError) in try await h.client.queryTask("t") }
            #expect(error?.status == 401 && error?.action == .deploymentFault)
        }
    }

    @Test(arguments: [
        (-8, CallerAction.recreateTask), (-7, .permanentFailure), (-5, .permanentFailure),
        (-3, .uploadFileInstead), (-2, .recreateTask), (-1, .recreateTask), (0, .keepPolling), (1, .done),
        (2, .keepPolling), (3, .keepPolling), (4, .keepPolling), (42, .keepPolling), (-42, .permanentFailure),
    ])
    func taskStateLeadsToTableAction(state: Int, expected: CallerAction) async throws {
        try await Harness.run { h in
            h.server.setState(TaskState(state), for: "task-s")
            let record = try await h.client.queryTask("task-s")
            #expect(record.taskID == "task-s" && record.state.rawValue == state)
            #expect(OutcomePolicy.action(for: .task(record.state)) == expected)
            #expect((record.file != nil) == (state == 1))
            let query = try #require(h.server.requests.first)
            #expect(query.path == "/api/tasks/document/ocr/task-s" && query.header(TaskAPI.apiKeyHeader) == Harness.apiKey)
        }
    }

    // MARK: Broken replies

    @Test func malformedTruncatedResetAndSlowRepliesGiveTypedErrors() async throws {
        try await Harness.run(configure: {
            $0.readTimeout = .seconds(1)
            $0.requestTimeout = .seconds(3)
        }) { h in
            let cases: [(FakeOCRServer.Fault, Set<TransportFailure>)] = [
                (.malformedJSON, [.malformedReply]),
                (.truncatedBody, [.truncatedBody, .connectionReset]),
                (.reset, [.connectionReset]),
                (.slow(.seconds(8)), [.readTimeout]),
            ]
            for (fault, expected) in cases {
                h.server.inject(fault)
                let started = ContinuousClock.now
                let error = try await withDeadline(.seconds(10)) { () -> OCRClientError? in
                    await h.expectError { () async throws(OCRClientError) in try await h.client.queryTask("t") }
                }
                let transport = try #require(error?.transport, "\(fault)")
                #expect(error?.code == .transport && expected.contains(transport), "\(fault) gave \(transport)")
                #expect(error?.action == .retryLater(after: nil))
                #expect(ContinuousClock.now - started < .seconds(7), "the request timeout (3 s) ended it, not the reply (8 s)")
                print("fault \(fault) -> \(transport) in \(ContinuousClock.now - started)")
            }
        }
    }

    @Test func aReplyOverTheLimitIsMalformedNotBuffered() async throws {
        // The server's normal, valid reply to a query is longer than 20 bytes.
        try await Harness.run(configure: { $0.maxReplyBytes = 20 }) { h in
            let error = try await withDeadline(.seconds(10)) { () -> OCRClientError? in
                await h.expectError { () async throws(OCRClientError) in try await h.client.queryTask("t") }
            }
            #expect(error?.code == .transport && error?.transport == .malformedReply)
        }
    }

    @Test func cancellingTheCallerCancelsAPollInFlight() async throws {
        try await Harness.run(configure: {
            $0.readTimeout = .seconds(60)
            $0.requestTimeout = .seconds(60)
        }) { h in
            h.server.inject(.slow(.seconds(60)))
            let client = h.client
            let poll = Task { () async -> OCRClientError? in
                do {
                    _ = try await client.queryTask("t")
                    return nil
                } catch {
                    return error as? OCRClientError
                }
            }
            try await waitUntil("the server has the poll") { !h.server.requests.isEmpty }
            let started = ContinuousClock.now
            poll.cancel()
            let error = try await withDeadline(.seconds(20)) { await poll.value }
            #expect(error?.code == .cancelled, "a cancelled poll ends as cancelled, not as a timeout")
            print("cancelled poll ended after \(ContinuousClock.now - started)")
        }
    }

    // MARK: Retries and the budget

    @Test func transientFailuresAreRetried() async throws {
        try await Harness.run(configure: {
            $0.retry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(50), maxDelay: .milliseconds(200))
        }) { h in
            h.server.inject(.status(500))
            h.server.inject(.reset)
            let record = try await h.client.queryTask("task-r")
            #expect(record.state == .success && h.server.requests.count == 3)
            h.server.inject(.status(503))
            h.server.inject(.status(503))
            h.server.inject(.status(503))
            let error = await h.expectError { () async throws(OCRClientError) in try await h.client.queryTask("t") }
            #expect(error?.status == 503 && error?.attempts == 3)
        }
    }

    @Test func retryAfterDelaysTheNextRequest() async throws {
        try await Harness.run(configure: {
            $0.retry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10))
            $0.budget = .init(requestsPerSecond: 10, burst: 1)
        }) { h in
            h.server.inject(.status(429, headers: [("Retry-After", "2")]))
            let record = try await withDeadline(.seconds(10)) { try await h.client.queryTask("task-a") }
            #expect(record.state == .success)
            let arrivals = h.server.requests.map(\.arrivedAt)
            try #require(arrivals.count == 2)
            let gap = arrivals[1] - arrivals[0]
            print("Retry-After: 2 -> next request after \(gap)")
            #expect(gap >= .seconds(2))
            #expect(h.client.budget.currentRate <= 5) // halved at once
        }
    }

    @Test func aRetryAfterOfADayIsCutToFiveMinutes() async throws {
        try await Harness.run(configure: { $0.retry = RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(10)) }) { h in
            h.server.inject(.status(429, headers: [("Retry-After", "86400")]))
            let error = await h.expectError { () async throws(OCRClientError) in try await h.client.queryTask("t") }
            #expect(error?.status == 429)
            #expect(error?.retryAfter == .seconds(300), "the reply asked for a day")
            #expect(error?.action == .retryLater(after: .seconds(300)))
        }
    }

    @Test func concurrentCallersNeverExceedTheBudget() async throws {
        let rps = 8.0
        try await Harness.run(configure: { $0.budget = .init(requestsPerSecond: rps, burst: 1) }) { h in
            let started = ContinuousClock.now
            try await withDeadline(.seconds(30)) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for caller in 0..<6 {
                        group.addTask {
                            for call in 0..<5 { _ = try await h.client.queryTask("task-\(caller)-\(call)") }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let elapsed = ContinuousClock.now - started
            let arrivals = h.server.requests.map(\.arrivedAt).sorted()
            #expect(arrivals.count == 30)
            var worst = 0
            for (index, start) in arrivals.enumerated() {
                worst = max(worst, arrivals[index...].prefix { $0 - start < .seconds(1) }.count)
            }
            print("budget \(rps) rps: 30 requests from 6 callers in \(elapsed); busiest 1 s window held \(worst)")
            // Burst 1 allows at most rps (+1 for the token in hand at the window's start).
            #expect(worst <= Int(rps) + 1)
            #expect(elapsed >= .milliseconds(Int64(29 / rps * 1000 * 0.95)))
        }
    }

    @Test func pollsOvertakeQueuedCreatesOnTheWire() async throws {
        try await Harness.run(configure: { $0.budget = .init(requestsPerSecond: 5, burst: 1) }) { h in
            try await withDeadline(.seconds(30)) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<6 {
                        group.addTask {
                            _ = try await h.client.createTask(
                                source: .url("https://example.com/\(index).pdf"), options: Harness.options)
                        }
                    }
                    try await waitUntil("creates queue up") { h.client.budget.waiting >= 4 }
                    for index in 0..<3 {
                        group.addTask { _ = try await h.client.queryTask("task-p\(index)") }
                    }
                    try await waitUntil("polls queue up") {
                        h.client.budget.waiting == 3 + 6 - h.client.budget.granted(.newTask)
                    }
                    try await group.waitForAll()
                }
            }
            let order = h.server.requests.map { $0.method == "POST" ? "C" : "Q" }.joined()
            print("order on the wire: \(order)")
            let lastQuery = try #require(order.lastIndex(of: "Q"))
            #expect(order[order.index(after: lastQuery)...].filter { $0 == "C" }.count >= 2, "\(order)")
            #expect(order.filter { $0 == "Q" }.count == 3)
        }
    }

    // MARK: Streaming and memory

    @Test func hundredMegabyteUploadAndDownloadStayFlat() async throws {
        let size: Int64 = 100 * 1024 * 1024
        let expected = PatternContent.sha256(size: size)
        let directory = FileManager.default.temporaryDirectory
        let source = directory.appendingPathComponent("ocr-big-\(UUID()).pdf").path
        let target = directory.appendingPathComponent("ocr-result-\(UUID()).txt").path
        try PatternContent.writeFile(at: source, size: size)
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: target)
        }
        try await Harness.run { h in
            h.server.addGenerated("/results/big.txt", size: size)

            let uploadBaseline = MemorySampler.residentKiB()
            let uploadSampler = MemorySampler()
            uploadSampler.start()
            let created = try await withDeadline(.seconds(300)) {
                try await h.client.createTask(source: .file(path: source), options: Harness.options)
            }
            let uploadPeak = await uploadSampler.stop()
            let part = try #require(h.server.requests.last?.parts.last)
            #expect(created.uploadedBytes == size && part.size == size && part.sha256 == expected)

            let downloadBaseline = MemorySampler.residentKiB()
            let downloadSampler = MemorySampler()
            downloadSampler.start()
            let result = try await withDeadline(.seconds(300)) {
                try await h.client.downloadResult(
                    from: "\(h.server.baseURL)/results/big.txt?sig=\(Harness.querySecret)",
                    into: FileResultSink(path: target))
            }
            let downloadPeak = await downloadSampler.stop()
            #expect(result.size == size && result.sha256 == expected)
            #expect(result.contentType == "text/plain; charset=utf-8")
            let attributes = try FileManager.default.attributesOfItem(atPath: target)
            #expect((attributes[.size] as? NSNumber)?.int64Value == size)

            let uploadGrowth = uploadPeak - uploadBaseline
            let downloadGrowth = downloadPeak - downloadBaseline
            print(
                "100 MiB upload: RSS baseline \(uploadBaseline / 1024) MiB, peak \(uploadPeak / 1024) MiB, growth \(uploadGrowth / 1024) MiB; "
                    + "100 MiB download: baseline \(downloadBaseline / 1024) MiB, peak \(downloadPeak / 1024) MiB, growth \(downloadGrowth / 1024) MiB; "
                    + "VmHWM \(MemorySampler.residentKiB("VmHWM") / 1024) MiB")
            // Far below the file size: a whole copy in memory would add at least 100 MiB. The
            // growth seen (4-27 MiB) is chunk buffers in flight and malloc arenas of NIO threads.
            #expect(uploadGrowth < 48 * 1024)
            #expect(downloadGrowth < 48 * 1024)
        }
    }

    @Test func expiredResultURLAsksForARefresh() async throws {
        try await Harness.run { h in
            let sink = FileResultSink(path: FileManager.default.temporaryDirectory.appendingPathComponent("gone-\(UUID())").path)
            let error = await h.expectError { () async throws(OCRClientError) in
                try await h.client.downloadResult(from: "\(h.server.baseURL)/results/missing.txt?sig=\(Harness.querySecret)", into: sink)
            }
            #expect(error?.status == 404 && error?.endpoint == .download && error?.action == .refreshResultURL)
            #expect(!(error?.description.contains(Harness.querySecret) ?? true))
        }
    }
}
