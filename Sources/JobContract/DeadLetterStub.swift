/// A dead letter for a record that cannot be re-published whole (the broker refused the
/// full dead letter as too large for `message.max.bytes`, or the record is over the job
/// decoder's caps): it says what happened and where the record is, without its value.
///
/// - value: empty (zero bytes), not null: a null value is a tombstone, which a compacted
///   topic would treat as a delete of the key;
/// - key: kept when it has at most `maxKeyBytes` bytes, dropped otherwise;
/// - headers: the original headers, unchanged, when they take at most
///   `maxOriginalHeaderBytes` together (names and values), then the usual ``DeadLetterHeaders`` for `info` (the
///   reason, the original topic, partition, offset and timestamp, so the record can be
///   read from the jobs topic while it is retained), then the stub's own headers:
///   ``stub`` (`value_dropped`), ``stubReason``, the original sizes, and which parts
///   were dropped.
///
/// `dlq replay` must not republish a stub as a job: its value is gone. Recognise one with
/// ``isStub(_:)``.
public enum DeadLetterStub {
    /// Present (value `value_dropped`) on every stub.
    public static let stub = "ocr.dlq.stub"
    /// Why the full dead letter could not be published (e.g. the broker's error).
    public static let stubReason = "ocr.dlq.stub_reason"
    public static let originalValueBytes = "ocr.original.value_bytes"
    public static let originalKeyBytes = "ocr.original.key_bytes"
    /// `true` when the key was dropped.
    public static let keyDropped = "ocr.dlq.key_dropped"
    /// `true` when the original headers were dropped.
    public static let headersDropped = "ocr.dlq.headers_dropped"

    public static let headerNames: Set<String> = [
        stub, stubReason, originalValueBytes, originalKeyBytes, keyDropped, headersDropped,
    ]

    public static let defaultMaxKeyBytes = JobDecoder.defaultMaxKeyBytes
    public static let defaultMaxOriginalHeaderBytes = JobDecoder.defaultMaxHeaderBytes

    /// The stub record. Publish `key`, `value` (always empty) and, as headers, the original
    /// record's headers unchanged when ``keepsOriginalHeaders`` (as a full dead letter
    /// does), followed by ``headers``.
    public struct Record: Sendable, Hashable {
        public var key: [UInt8]?
        public var value: [UInt8]
        public var keepsOriginalHeaders: Bool
        /// The headers to add after the original ones.
        public var headers: [DeadLetterHeader]
    }

    /// Builds the stub for a record with `key`, `valueBytes` bytes of value and
    /// `headers`, dead-lettered for `info`; `reason` says why the full copy was not sent.
    public static func make(
        key: [UInt8]?, valueBytes: Int, headers: [(name: String, value: [UInt8]?)], info: DeadLetterInfo,
        reason: String, maxKeyBytes: Int = defaultMaxKeyBytes,
        maxOriginalHeaderBytes: Int = defaultMaxOriginalHeaderBytes
    ) -> Record {
        let keepHeaders = JobDecoder.headerBytes(headers) <= maxOriginalHeaderBytes
        var out = DeadLetterHeaders.make(info)
        let keepKey = (key?.count ?? 0) <= maxKeyBytes
        func add(_ name: String, _ text: String) { out.append(DeadLetterHeader(name: name, value: Array(text.utf8))) }
        add(stub, "value_dropped")
        add(stubReason, DeadLetterHeaders.truncated(reason))
        add(originalValueBytes, String(valueBytes))
        if let key { add(originalKeyBytes, String(key.count)) }
        if !keepKey { add(keyDropped, "true") }
        if !keepHeaders { add(headersDropped, "true") }
        return Record(key: keepKey ? key : nil, value: [], keepsOriginalHeaders: keepHeaders, headers: out)
    }

    /// Whether a dead-lettered record is a stub (its last ``stub`` header says so).
    public static func isStub(_ headers: [(name: String, value: [UInt8]?)]) -> Bool {
        headers.last { $0.name == stub }?.value == Array("value_dropped".utf8)
    }
}
