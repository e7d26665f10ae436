import Crypto
import Foundation
import JobContract
import Kafka
import Ledger
import Logging
import OCRClient
import OCRTaskAPI
import ResultStore

extension JobProcessor {
    enum FinishOutcome {
        case published
        /// The result URL expired: query the task again for a fresh one.
        case refetch
        /// The result cannot be had from this task: re-create it.
        case recreate
        case failed(String)
    }

    /// Rehosts the result (or passes its URL through), stores the result message in the
    /// ledger, publishes it, and marks it published.
    func finish(_ context: JobContext, record: JobRecord, task: TaskRecord, fileURL: String, progress: Progress) async throws -> FinishOutcome {
        let job = context.job
        let expiresAt = (task.completedAt?.date ?? Date()).addingTimeInterval(settings.resultURLLifetime.seconds)
        let file: JobResult.ResultFile
        if let store {
            let key = ResultKey.forJob(job.jobID, fileExtension: job.format.rawValue)
            let writer = try await dependency("open result store", context.logger) {
                try await store.makeWriter(key: key, contentType: job.format.contentType)
            }
            let sink = StoreSink(writer)
            do {
                let downloaded = try await provider.downloadResult(from: fileURL, into: sink)
                guard let stored = sink.stored else { return .failed("the result store did not confirm the file") }
                file = .init(
                    fileURL: fileURL, fileURLExpiresAt: expiresAt, location: stored.location,
                    sizeBytes: downloaded.size, sha256: downloaded.sha256,
                    contentType: downloaded.contentType ?? job.format.contentType)
                metrics.rehosted(bytes: downloaded.size)
            } catch {
                await writer.abort()
                try Task.checkCancellation()
                if error.code == .sinkFailed {
                    // Our result store failed, not the provider: wait, then fetch again
                    // (querying the task first gives a fresh URL). Never a job failure.
                    context.logger.warning("result store failed; retrying the rehost", metadata: ["error": "\(error)"])
                    try await scheduler.wait(until: .now + settings.pollBackoff.cap)
                    return .refetch
                }
                switch error.action {
                case .refreshResultURL:
                    return progress.refetches < 2 ? .refetch : .recreate
                case .retryLater:
                    monitor.record(error)
                    return .refetch
                default:
                    return .failed("\(error)")
                }
            }
        } else {
            file = .init(
                fileURL: fileURL, fileURLExpiresAt: expiresAt, location: nil, sizeBytes: nil, sha256: nil,
                contentType: job.format.contentType)
        }
        let fresh = (try? await ledger.record(jobID: job.jobID)) ?? record
        let result = JobResult.succeeded(
            job: job, taskID: task.taskID, file: file,
            timings: timings(context, task: task), attempts: .init(creates: fresh.createAttempts, polls: fresh.pollAttempts),
            worker: worker, traceparent: context.traceparent)
        let bytes = result.encodedJSON()
        do {
            _ = try await dependency("store result", context.logger) {
                try await self.ledger.complete(jobID: job.jobID, resultMessage: bytes, at: Date())
            }
        } catch let error as LedgerError where error.code == .invalidTransition {
            // Another worker settled the job first: its stored result wins.
            try await republishCurrent(context)
            return .published
        }
        try await publishResult(bytes, context)
        _ = try await dependency("mark published", context.logger) { try await self.ledger.markPublished(jobID: job.jobID, at: Date()) }
        metrics.finished(.succeeded, errorClass: nil, enqueuedAt: context.message.timestamp)
        context.logger.info("job succeeded", metadata: ["task_id": "\(task.taskID)", "location": "\(file.location ?? "pass-through")"])
        return .published
    }

    /// Stores and publishes a `failed` result and dead-letters the record.
    func fail(_ context: JobContext, record: JobRecord, taskID: String?, _ errorClass: ErrorClass, code: String, message: String) async throws {
        let job = context.job
        let fresh = (try? await ledger.record(jobID: job.jobID)) ?? record
        let result = JobResult.failed(
            job: job, taskID: taskID, failure: .init(errorClass: errorClass, code: code, message: message),
            timings: timings(context, task: nil), attempts: .init(creates: fresh.createAttempts, polls: fresh.pollAttempts),
            worker: worker, traceparent: context.traceparent)
        let bytes = result.encodedJSON()
        let failed: JobRecord
        do {
            failed = try await dependency("store failure", context.logger) {
                try await self.ledger.fail(jobID: job.jobID, resultMessage: bytes, at: Date())
            }
        } catch let error as LedgerError where error.code == .invalidTransition {
            try await republishCurrent(context)
            return
        }
        try await publishResult(bytes, context)
        try await deadLetter(context.message, info: deadLetterInfo(context.message, record: failed, errorClass: errorClass, code: code, message: message, taskID: taskID))
        _ = try await dependency("mark published", context.logger) { try await self.ledger.markPublished(jobID: job.jobID, at: Date()) }
        metrics.finished(.failed, errorClass: errorClass, enqueuedAt: context.message.timestamp)
        context.logger.warning("job failed", metadata: ["error_class": "\(errorClass.rawValue)", "code": "\(code)", "reason": "\(message)"])
    }

    /// A record that broke the job contract: a `failed` result when it had a job id (once
    /// per job id), and a dead letter in any case. The partition moves on.
    func reject(_ message: KafkaConsumerMessage, rejection: JobRejection, logger: Logger) async throws {
        var logger = logger
        let now = Date()
        logger.warning("rejected job record", metadata: ["code": "\(rejection.code)", "reason": "\(rejection.message)"])
        let info = { (record: JobRecord?) in
            DeadLetterInfo(
                rejection: rejection, firstSeenAt: record?.firstSeenAt ?? now, failedAt: now, workerID: self.settings.workerID,
                consumerGroup: self.settings.consumerGroup, origin: Self.origin(of: message))
        }
        guard let jobID = rejection.jobID else {
            try await deadLetter(message, info: info(nil))
            metrics.finished(.rejected, errorClass: .invalidJob, enqueuedAt: message.timestamp)
            return
        }
        logger[metadataKey: "job_id"] = "\(jobID)"
        let fingerprint = "invalid:" + SHA256.hash(data: message.value ?? []).map { String(format: "%02x", $0) }.joined()
        let (record, isNew) = try await dependency("accept rejected job", logger) {
            try await self.ledger.accept(jobID: jobID, fingerprint: fingerprint, at: now)
        }
        // This same invalid record still `accepted`: a crash came between the accept and
        // the stored failure, so finish the rejection as if it were new.
        let ownLeftover = record.fingerprint == fingerprint && record.state == .accepted
        if !isNew, !ownLeftover {
            if record.fingerprint == fingerprint, record.state.isSettled {
                try await republish(record, message: message, logger: logger)
            } else {
                // The id belongs to another payload, which keeps its own result.
                logger.warning("invalid record reuses the id of another job: dead letter only", metadata: ["first_fingerprint": "\(record.fingerprint)"])
                try await deadLetter(message, info: info(record))
            }
            return
        }
        let timings = JobResult.Timings(enqueuedAt: message.timestamp, publishedAt: now)
        guard let result = JobResult.rejected(rejection, timings: timings, worker: worker, traceparent: message.headers.last(named: "traceparent")?.stringValue) else { return }
        let bytes = result.encodedJSON()
        let failed = try await dependency("store rejection", logger) { try await self.ledger.fail(jobID: jobID, resultMessage: bytes, at: now) }
        try await send(KafkaProducerMessage(topic: settings.resultsTopic, key: Array(jobID.utf8), value: bytes, headers: traceHeaders(message)), logger)
        try await deadLetter(message, info: info(failed))
        _ = try await dependency("mark published", logger) { try await self.ledger.markPublished(jobID: jobID, at: Date()) }
        metrics.finished(.rejected, errorClass: .invalidJob, enqueuedAt: message.timestamp)
    }

    /// Republishes the stored result of a settled job (a redelivery, a duplicate, or a
    /// crash before `published` was written). A failure not yet marked published is
    /// dead-lettered again too, since the crash may have come before its dead letter.
    func republish(_ record: JobRecord, _ context: JobContext) async throws {
        try await republish(record, message: context.message, logger: context.logger)
    }

    func republish(_ record: JobRecord, message: KafkaConsumerMessage, logger: Logger) async throws {
        guard let bytes = record.resultMessage else {
            logger.error("settled job without a stored result", metadata: ["state": "\(record.state.rawValue)"])
            return
        }
        try await send(KafkaProducerMessage(topic: settings.resultsTopic, key: Array(record.jobID.utf8), value: bytes, headers: traceHeaders(message)), logger)
        if record.state == .failed, record.publishedAt == nil, let failure = StoredFailure(bytes) {
            try await deadLetter(message, info: deadLetterInfo(message, record: record, errorClass: failure.errorClass, code: failure.code, message: failure.message, taskID: record.taskID))
        }
        if record.state == .completed || (record.state == .failed && record.publishedAt == nil) {
            _ = try await dependency("mark published", logger) { try await self.ledger.markPublished(jobID: record.jobID, at: Date()) }
        }
        metrics.republished()
        logger.info("republished the stored result", metadata: ["state": "\(record.state.rawValue)"])
    }

    /// After a refused transition: another driver moved the job. Republish what it
    /// stored; if it is not settled yet, throw so that ``handle(_:)`` takes the job up
    /// again instead of checkpointing a message whose job has no result.
    private func republishCurrent(_ context: JobContext) async throws {
        let record = try await dependency("read ledger", context.logger, { try await self.ledger.record(jobID: context.job.jobID) })
        guard let record, record.state.isSettled else {
            throw LedgerError(code: .invalidTransition, jobID: context.job.jobID, message: "job moved on but is not settled: driving it again")
        }
        try await republish(record, context)
    }

    /// Dead-letters a record whose processing kept failing for reasons of our own.
    func deadLetterInternal(_ message: KafkaConsumerMessage, error: any Error) async throws {
        let now = Date()
        let info = DeadLetterInfo(
            errorClass: .internal, code: "internal", message: "\(error)", createAttempts: 0, pollAttempts: 0,
            firstSeenAt: now, failedAt: now, taskID: nil, workerID: settings.workerID,
            consumerGroup: settings.consumerGroup, origin: Self.origin(of: message))
        try await deadLetter(message, info: info)
        metrics.finished(.failed, errorClass: .internal, enqueuedAt: message.timestamp)
    }

    // MARK: Publishing

    private func publishResult(_ bytes: [UInt8], _ context: JobContext) async throws {
        try await send(
            KafkaProducerMessage(topic: settings.resultsTopic, key: Array(context.job.jobID.utf8), value: bytes, headers: traceHeaders(context.message)),
            context.logger)
    }

    /// The original record (key, value, headers unchanged) plus the headers that say why.
    func deadLetter(_ message: KafkaConsumerMessage, info: DeadLetterInfo) async throws {
        let headers = message.headers + DeadLetterHeaders.make(info).map { KafkaHeader(key: $0.name, value: $0.value) }
        try await send(KafkaProducerMessage(topic: settings.deadLetterTopic, key: message.key, value: message.value, headers: headers), logger)
        metrics.deadLettered(info.errorClass)
    }

    private func send(_ record: KafkaProducerMessage, _ logger: Logger) async throws {
        _ = try await dependency("publish to \(record.topic)", logger) { try await self.producer.send(record) }
    }

    private func traceHeaders(_ message: KafkaConsumerMessage) -> [KafkaHeader] {
        message.headers.last(named: "traceparent").map { [$0] } ?? []
    }

    private func deadLetterInfo(_ message: KafkaConsumerMessage, record: JobRecord, errorClass: ErrorClass, code: String, message text: String, taskID: String?) -> DeadLetterInfo {
        DeadLetterInfo(
            errorClass: errorClass, code: code, message: text, createAttempts: record.createAttempts,
            pollAttempts: record.pollAttempts, firstSeenAt: record.firstSeenAt, failedAt: Date(), taskID: taskID,
            workerID: settings.workerID, consumerGroup: settings.consumerGroup, origin: Self.origin(of: message))
    }

    static func origin(of message: KafkaConsumerMessage) -> DeadLetterInfo.Origin {
        let type: DeadLetterInfo.TimestampType =
            switch message.timestampType {
            case .createTime: .createTime
            case .logAppendTime: .logAppendTime
            case nil: .none
            }
        return .init(
            topic: message.topic, partition: message.partition, offset: message.offset,
            timestamp: message.timestamp.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }, timestampType: type)
    }

    private func timings(_ context: JobContext, task: TaskRecord?) -> JobResult.Timings {
        JobResult.Timings(
            enqueuedAt: context.message.timestamp, taskCreatedAt: task?.createdAt?.date,
            taskProcessedAt: task?.processedAt?.date, taskCompletedAt: task?.completedAt?.date, publishedAt: Date())
    }

    // MARK: Our own dependencies

    /// Runs a call to the ledger, the broker or the result store until it succeeds,
    /// backing off from ``JobProcessorSettings/dependencyRetryDelay`` to 30 s: an outage of
    /// our own infrastructure delays jobs, it never fails or dead-letters them. A refused
    /// ledger transition is not retried (it is an answer, not an outage).
    func dependency<T: Sendable>(_ what: String, _ logger: Logger, _ body: @Sendable () async throws -> T) async throws -> T {
        var delay = settings.dependencyRetryDelay
        while true {
            do {
                return try await body()
            } catch let error as LedgerError where error.code == .invalidTransition || error.code == .notFound {
                throw error
            } catch {
                try Task.checkCancellation()
                logger.warning("\(what) failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }
}

/// The `error` of a stored failed result, read back to dead-letter it again.
struct StoredFailure {
    var errorClass: ErrorClass
    var code: String
    var message: String

    init?(_ bytes: [UInt8]) {
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let error = root["error"] as? [String: Any],
            let errorClass = (error["class"] as? String).flatMap(ErrorClass.init(rawValue:))
        else { return nil }
        self.errorClass = errorClass
        code = error["code"] as? String ?? ""
        message = error["message"] as? String ?? ""
    }
}

extension Duration {
    var seconds: TimeInterval {
        let (s, atto) = components
        return TimeInterval(s) + TimeInterval(atto) / 1e18
    }
}

extension OutputFormat {
    /// The media type of a result file in this format.
    var contentType: String {
        switch self {
        case .txt: "text/plain; charset=utf-8"
        case .pdf: "application/pdf"
        case .docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case .pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        }
    }
}
