import Crypto
import Foundation
import HexEncoding
import JobContract
import JobCore
import Kafka
import Logging
import OCRTaskAPI

extension JobRunner {
    /// A record that broke the job contract: a `failed` result when it had a job id (once
    /// per job id), and a dead letter in any case. The partition moves on. Which of these
    /// happen is the machine's rule (`JobMachine.rejection`, `afterAcceptingRejected`).
    func reject(_ message: KafkaConsumerMessage, rejection: JobRejection, logger: Logger) async throws {
        var logger = logger
        let now = Date()
        let ledger = ports.ledger
        logger.warning("rejected job record", metadata: ["code": "\(rejection.code)", "reason": "\(rejection.message)"])
        let info = { (record: JobRecord?) in
            DeadLetterInfo(
                rejection: rejection, firstSeenAt: record?.firstSeenAt ?? now, failedAt: now, workerID: self.settings.workerID,
                consumerGroup: self.settings.consumerGroup, origin: Self.origin(of: message))
        }
        let counted = { self.metrics.finished(.rejected, errorClass: .invalidJob, enqueuedAt: message.timestamp?.asRFC3339Instant) }
        let jobID: String
        switch JobMachine.rejection(rejection) {
        case .deadLetterStub:
            try await deadLetterStub(message, info: info(nil), reason: rejection.message)
            counted()
            return
        case .deadLetterOnly:
            try await deadLetter(message, info: info(nil))
            counted()
            return
        case .acceptRow(let id):
            jobID = id
        }
        logger[metadataKey: "job_id"] = "\(jobID)"
        let fingerprint = JobMachine.rejectedFingerprint(Hex.lowercase(SHA256.hash(data: message.value ?? [])))
        let (record, isNew) = try await retry.run("accept rejected job", logger) {
            try await ledger.accept(jobID: jobID, fingerprint: fingerprint, at: now)
        }
        switch JobMachine.afterAcceptingRejected(record, isNew: isNew, fingerprint: fingerprint) {
        case .republish:
            try await republish(record, message: message, logger: logger)
            return
        case .deadLetterOnly:
            logger.warning("invalid record reuses the id of another job: dead letter only", metadata: ["first_fingerprint": "\(record.fingerprint)"])
            try await deadLetter(message, info: info(record))
            return
        case .storeAndPublish:
            break
        }
        let timings = JobResult.Timings(enqueuedAt: message.timestamp?.asRFC3339Instant, publishedAt: now)
        guard
            let result = JobResult.rejected(
                rejection, timings: timings, worker: worker, traceparent: message.headers.last(named: "traceparent")?.stringValue)
        else { return }
        let bytes = result.encodedJSON()
        let failed = try await retry.run("store rejection", logger) { try await ledger.fail(jobID: jobID, resultMessage: bytes, at: now) }
        try await send(OutgoingRecord(topic: settings.resultsTopic, key: Array(jobID.utf8), value: bytes, headers: traceHeaders(message)), logger)
        try await deadLetter(message, info: info(failed))
        _ = try await retry.run("mark published", logger) { try await ledger.markPublished(jobID: jobID, at: Date()) }
        counted()
    }

    /// Republishes the stored result of a rejected record's settled row.
    private func republish(_ record: JobRecord, message: KafkaConsumerMessage, logger: Logger) async throws {
        guard let bytes = record.resultMessage else {
            logger.error("settled job without a stored result", metadata: ["state": "\(record.state.rawValue)"])
            return
        }
        let ledger = ports.ledger
        try await send(
            OutgoingRecord(topic: settings.resultsTopic, key: Array(record.jobID.utf8), value: bytes, headers: traceHeaders(message)), logger)
        if record.state == .failed, record.publishedAt == nil, let failure = StoredFailure(bytes) {
            let reason = JobFailure(failure.errorClass, code: failure.code, message: failure.message, taskID: record.taskID)
            try await deadLetter(message, info: deadLetterInfo(message, record: record, failure: reason))
        }
        if record.state == .completed || (record.state == .failed && record.publishedAt == nil) {
            _ = try await retry.run("mark published", logger) { try await ledger.markPublished(jobID: record.jobID, at: Date()) }
        }
        metrics.republished()
    }

    /// Dead-letters a record whose processing kept failing for reasons of our own.
    func deadLetterInternal(_ message: KafkaConsumerMessage, failure: JobFailure) async throws {
        let now = Date()
        let info = DeadLetterInfo(
            errorClass: failure.errorClass, code: failure.code, message: failure.message, createAttempts: 0, pollAttempts: 0,
            firstSeenAt: now, failedAt: now, taskID: nil, workerID: settings.workerID,
            consumerGroup: settings.consumerGroup, origin: Self.origin(of: message))
        try await deadLetter(message, info: info)
        metrics.finished(.failed, errorClass: .internal, enqueuedAt: message.timestamp?.asRFC3339Instant)
    }

    // MARK: Publishing

    /// The original record (key and headers unchanged, the value without a document
    /// `password` member: DeadLetterValue) plus the headers that say why. A dead letter the
    /// broker refuses as too large goes out as a stub (DeadLetterStub): the reason and the
    /// original sizes, without the value.
    func deadLetter(_ message: KafkaConsumerMessage, info: DeadLetterInfo) async throws {
        let reason = DeadLetterHeaders.make(info).map { OutgoingRecord.Header(key: $0.name, value: $0.value) }
        let full = OutgoingRecord(
            topic: settings.deadLetterTopic, key: message.key, value: DeadLetterValue.withoutPassword(message.value),
            headers: message.headers.map(\.outgoing) + reason)
        do {
            try await send(full, logger)
            metrics.deadLettered(info.errorClass)
        } catch let failure as PermanentDependencyFailure where failure.kind == .tooLarge {
            logger.warning(
                "dead letter too large for the broker: sending a stub without the value",
                metadata: [
                    "partition": "\(message.partition)", "offset": "\(message.offset)",
                ])
            try await deadLetterStub(message, info: info, reason: "the dead letter was too large for the broker")
        }
    }

    /// A dead letter without the record's value (and without its key or headers when
    /// those are over the caps).
    func deadLetterStub(_ message: KafkaConsumerMessage, info: DeadLetterInfo, reason: String) async throws {
        let stub = DeadLetterStub.make(
            key: message.key, valueBytes: message.value?.count ?? 0, headers: message.headers.map { ($0.key, $0.value) },
            info: info, reason: reason)
        try await send(
            OutgoingRecord(
                topic: settings.deadLetterTopic, key: stub.key, value: stub.value,
                headers: (stub.keepsOriginalHeaders ? message.headers.map(\.outgoing) : [])
                    + stub.headers.map { OutgoingRecord.Header(key: $0.name, value: $0.value) }),
            logger)
        metrics.deadLettered(info.errorClass)
    }

    func send(_ record: OutgoingRecord, _ logger: Logger) async throws {
        let publisher = ports.publisher
        var retry = self.retry
        retry.unknownTopicDeadline = settings.unknownTopicDeadline
        do {
            try await retry.run("publish to \(record.topic)", logger) { try await publisher.publish(record) }
        } catch let failure as PermanentDependencyFailure {
            if failure.kind == .fatal { health.markFatal("\(failure)") }
            throw failure
        }
    }

    func traceHeaders(_ message: KafkaConsumerMessage) -> [OutgoingRecord.Header] {
        message.headers.last(named: "traceparent").map { [$0.outgoing] } ?? []
    }

    func deadLetterInfo(_ message: KafkaConsumerMessage, record: JobRecord, failure: JobFailure) -> DeadLetterInfo {
        DeadLetterInfo(
            errorClass: failure.errorClass, code: failure.code, message: failure.message, createAttempts: record.createAttempts,
            pollAttempts: record.pollAttempts, firstSeenAt: record.firstSeenAt, failedAt: Date(), taskID: failure.taskID,
            workerID: settings.workerID, consumerGroup: settings.consumerGroup, origin: Self.origin(of: message))
    }

    /// Where the record came from, with its timestamp as the broker gave it (epoch
    /// milliseconds, kept exact: no conversion through a date that could trap).
    static func origin(of message: KafkaConsumerMessage) -> DeadLetterInfo.Origin {
        let type: DeadLetterInfo.TimestampType =
            switch message.timestampType {
            case .createTime: .createTime
            case .logAppendTime: .logAppendTime
            case nil: .none
            }
        return .init(
            topic: message.topic, partition: message.partition, offset: message.offset,
            timestamp: message.timestampMilliseconds, timestampType: type)
    }
}
