import Foundation
import JobContract
import OCRTaskAPI

/// The fuzz entry for job records: arbitrary bytes split into what a consumed record
/// holds, run through everything the worker builds from one.
///
/// Input layout (short input reads as zeros): flags byte (bit 0 key present, bit 1 value
/// present, bits 2-3 timestamp type), 8-byte big-endian timestamp in ms (any `Int64`,
/// negative = none), header count byte (at most 16 used), key length byte and key, each
/// header as name length byte, name, value length byte (255 = null) and value, then the
/// value (all remaining bytes).
///
/// Checks (a failed one traps, which is what the fuzzer looks for): nothing traps; a
/// result encodes and decodes back equal; dead-letter headers parse back to the same
/// origin; the password-free dead-letter value has no top-level `password`, is valid JSON
/// when the value was, and decodes to the same job minus its password; a stub is
/// recognised as one and carries no value.
public enum KafkaRecordFuzz {
    public static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let flags = input.byte()
        let rawTimestamp = input.int64()
        let headerCount = Int(input.byte() % 17)
        let key: [UInt8]? = flags & 1 != 0 ? input.take(Int(input.byte())) : nil
        var headers: [(name: String, value: [UInt8]?)] = []
        for _ in 0..<headerCount {
            let name = String(decoding: input.take(Int(input.byte())), as: UTF8.self)
            let length = input.byte()
            headers.append((name, length == 255 ? nil : input.take(Int(length))))
        }
        let value: [UInt8]? = flags & 2 != 0 ? input.rest() : nil
        let timestampType: DeadLetterInfo.TimestampType = (flags >> 2) & 1 == 0 ? .createTime : .logAppendTime
        let millis: Int64? = rawTimestamp >= 0 ? rawTimestamp : nil
        // What the Kafka wrapper makes of the timestamp.
        let enqueuedAt = millis.map { Date(timeIntervalSince1970: Double($0) / 1000) }

        let decoder = JobDecoder(maxValueBytes: 2048, maxKeyBytes: 64, maxHeaderCount: 8, maxHeaderBytes: 512)
        var job: Job?
        var rejection: JobRejection?
        do {
            try decoder.checkEnvelope(
                keyBytes: key?.count ?? 0, headerCount: headers.count, headerBytes: JobDecoder.headerBytes(headers))
            job = try decoder.decode(value)
        } catch {
            rejection = error
        }

        let worker = JobResult.WorkerInfo(id: "fuzz", version: "0")
        let timings = JobResult.Timings(
            enqueuedAt: enqueuedAt, taskCreatedAt: enqueuedAt, taskProcessedAt: enqueuedAt,
            taskCompletedAt: enqueuedAt, publishedAt: enqueuedAt ?? Date(timeIntervalSince1970: 0))
        var results: [JobResult] = []
        if let job {
            let file = JobResult.ResultFile(
                fileURL: job.source.absoluteString, fileURLExpiresAt: enqueuedAt ?? Date(timeIntervalSince1970: 0),
                location: nil, sizeBytes: millis, sha256: nil, contentType: job.format.contentType)
            results.append(
                .succeeded(
                    job: job, taskID: "t", file: file, timings: timings, attempts: .init(creates: .max, polls: .min),
                    worker: worker))
            results.append(
                .failed(
                    job: job, taskID: nil, failure: .init(errorClass: .providerFailed, code: "-8", message: job.jobID),
                    timings: timings, attempts: .init(creates: 0, polls: 0), worker: worker))
        }
        if let rejection, let result = JobResult.rejected(rejection, timings: timings, worker: worker) {
            results.append(result)
        }
        for result in results {
            let bytes = result.encodedJSON()
            guard let decoded = try? JobResult.decode(bytes) else { fatalError("a result does not decode back") }
            precondition(decoded == result, "a result does not round-trip")
        }

        let origin = DeadLetterInfo.Origin(
            topic: "ocr.jobs", partition: 0, offset: rawTimestamp,
            timestamp: millis ?? DeadLetterInfo.Origin.epochMillis(enqueuedAt), timestampType: timestampType)
        let info: DeadLetterInfo =
            if let rejection {
                DeadLetterInfo(
                    rejection: rejection, firstSeenAt: enqueuedAt ?? Date(), failedAt: enqueuedAt ?? Date(),
                    workerID: "fuzz", consumerGroup: nil, origin: origin)
            } else {
                DeadLetterInfo(
                    errorClass: .providerFailed, code: "-8", message: String(decoding: key ?? [], as: UTF8.self),
                    createAttempts: Int(truncatingIfNeeded: rawTimestamp), pollAttempts: 1,
                    firstSeenAt: enqueuedAt ?? Date(), failedAt: Date(), taskID: nil, workerID: "fuzz",
                    consumerGroup: "g", origin: origin)
            }
        let deadLetterHeaders = DeadLetterHeaders.make(info)
        guard let parsed = try? DeadLetterHeaders.parse(headers + deadLetterHeaders.pairs) else {
            fatalError("dead-letter headers do not parse back")
        }
        precondition(parsed.origin == info.origin, "the dead letter's origin does not round-trip")
        _ = DeadLetterHeaders.displayJSON(headers + deadLetterHeaders.pairs)

        checkPasswordRemoval(value, job: job, decoder: decoder)

        let stub = DeadLetterStub.make(
            key: key, valueBytes: value?.count ?? 0, headers: headers, info: info, reason: "fuzz", maxKeyBytes: 16,
            maxOriginalHeaderBytes: 64)
        precondition(stub.value.isEmpty, "a stub carries a value")
        let stubHeaders = (stub.keepsOriginalHeaders ? headers : []) + stub.headers.pairs
        precondition(DeadLetterStub.isStub(stubHeaders), "a stub is not recognised")
    }

    static func checkPasswordRemoval(_ value: [UInt8]?, job: Job?, decoder: JobDecoder) {
        guard let stripped = DeadLetterValue.withoutPassword(value) else {
            precondition(value == nil, "a value vanished")
            return
        }
        guard let value else { fatalError("a null value became one") }
        guard case .object(let original)? = try? JSONParser.parse(value) else {
            // Not an object, not JSON, or an object with repeated names (which only the
            // password removal tolerates): nothing more to compare.
            return
        }
        guard case .object(let members)? = try? JSONParser.parse(stripped) else {
            fatalError("removing the password broke the JSON")
        }
        precondition(members["password"] == nil, "the password survived")
        var expected = original
        expected["password"] = nil
        precondition(members == expected, "removing the password changed other members")
        if original["password"] == nil { precondition(stripped == value, "a value without password changed") }
        if let job {
            guard let again = try? decoder.decode(stripped) else { fatalError("the job no longer decodes") }
            precondition(
                again.jobID == job.jobID && again.metadata == job.metadata && again.password == nil,
                "the password-free job differs")
        }
    }
}
