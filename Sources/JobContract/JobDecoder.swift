import Crypto
import Foundation
import HexEncoding
public import OCRTaskAPI

/// Turns the value of an `ocr.jobs` record into a ``Job`` or a ``JobRejection``.
///
/// The rules are those of schemas/job.schema.json (the tests run the same examples through
/// both). Field rules that the OCR task API already defines (language names, password
/// length, output format, URL scheme) are checked by `OCRTaskAPI`'s own types, so a job
/// the worker accepts is one the provider's contract accepts. Two checks cannot be written
/// in JSON Schema and are the decoder's alone: a member name repeated in one object
/// (rejected as `malformed_json`, where most JSON parsers would silently keep the last) and
/// the 16 KiB limit on the serialized `metadata`.
///
/// Optional fields may be absent or null, which means the default: languages
/// `ChinesePRC,English,Digits`, format `txt`, no password, no metadata, no deadline.
/// Unknown top-level members are ignored, so producers can add fields before workers know
/// them.
///
/// Size caps: a value over ``maxValueBytes`` is rejected (`record_too_large`) before a
/// single byte of it is parsed, so a huge record costs nothing but its copy; such a
/// rejection has no `jobID` (the value was not read), so the record is dead-lettered only.
/// ``checkEnvelope(keyBytes:headerCount:headerBytes:)`` bounds the key and the headers the
/// same way; the worker calls it before ``decode(_:)``.
public struct JobDecoder: Sendable {
    /// The most bytes `metadata` may take in the message.
    public var maxMetadataBytes: Int
    /// The most bytes a record value may have; larger ones are rejected unread.
    public var maxValueBytes: Int
    /// The most bytes a record key may have (a job's key SHOULD be its `job_id`, at most
    /// 128 characters).
    public var maxKeyBytes: Int
    /// The most headers a record may carry.
    public var maxHeaderCount: Int
    /// The most bytes all of a record's header names and values may take together.
    public var maxHeaderBytes: Int

    public static let defaultMaxMetadataBytes = 16 * 1024
    /// 1 MiB, Kafka's default `message.max.bytes`: a job is a URL and some metadata.
    public static let defaultMaxValueBytes = 1024 * 1024
    public static let defaultMaxKeyBytes = 4 * 1024
    public static let defaultMaxHeaderCount = 64
    public static let defaultMaxHeaderBytes = 64 * 1024
    public static let maxJobIDLength = 128

    public init(
        maxMetadataBytes: Int = JobDecoder.defaultMaxMetadataBytes,
        maxValueBytes: Int = JobDecoder.defaultMaxValueBytes,
        maxKeyBytes: Int = JobDecoder.defaultMaxKeyBytes,
        maxHeaderCount: Int = JobDecoder.defaultMaxHeaderCount,
        maxHeaderBytes: Int = JobDecoder.defaultMaxHeaderBytes
    ) {
        self.maxMetadataBytes = maxMetadataBytes
        self.maxValueBytes = maxValueBytes
        self.maxKeyBytes = maxKeyBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderBytes = maxHeaderBytes
    }

    /// Rejects (`record_too_large`, no `jobID`) a record whose key or headers pass the
    /// caps: `keyBytes` is the key's length (0 for none), `headerBytes` the sum of every
    /// header's name and value lengths (``headerBytes(_:)`` computes it).
    public func checkEnvelope(keyBytes: Int, headerCount: Int, headerBytes: Int) throws(JobRejection) {
        if keyBytes > maxKeyBytes {
            throw JobRejection(
                code: .recordTooLarge, message: "the record key is \(keyBytes) bytes, at most \(maxKeyBytes) allowed",
                field: "key")
        }
        if headerCount > maxHeaderCount {
            throw JobRejection(
                code: .recordTooLarge,
                message: "the record has \(headerCount) headers, at most \(maxHeaderCount) allowed", field: "headers")
        }
        if headerBytes > maxHeaderBytes {
            throw JobRejection(
                code: .recordTooLarge,
                message: "the record headers take \(headerBytes) bytes, at most \(maxHeaderBytes) allowed",
                field: "headers")
        }
    }

    /// The bytes of header names and values together, saturating at `Int.max`.
    public static func headerBytes(_ headers: [(name: String, value: [UInt8]?)]) -> Int {
        var total = 0
        for header in headers {
            let (withName, o1) = total.addingReportingOverflow(header.name.utf8.count)
            let (withValue, o2) = withName.addingReportingOverflow(header.value?.count ?? 0)
            if o1 || o2 { return .max }
            total = withValue
        }
        return total
    }

    /// Decodes a record value; `nil` is a tombstone and is rejected (`null_value`), a value
    /// over ``maxValueBytes`` is rejected unread (`record_too_large`).
    public func decode(_ value: [UInt8]?) throws(JobRejection) -> Job {
        guard let value else {
            throw JobRejection(code: .nullValue, message: "the record has a null value")
        }
        guard value.count <= maxValueBytes else {
            throw JobRejection(
                code: .recordTooLarge,
                message: "the record value is \(value.count) bytes, at most \(maxValueBytes) allowed")
        }
        let root: JSONValue
        let members: [String: JSONParser.Member]
        do {
            (root, members) = try JSONParser.parseWithMembers(value)
        } catch {
            throw JobRejection(code: .malformedJSON, message: "the value is not valid JSON: \(error)")
        }
        guard case .object(let object) = root else {
            throw JobRejection(code: .notAnObject, message: "the value is a JSON \(root.typeName), not an object")
        }

        // job_id first: every later rejection can then carry it.
        let jobID: String
        switch object["job_id"] {
        case nil, .null?:
            throw JobRejection(code: .missingJobID, message: "job_id is missing", field: "job_id")
        case .string(let text)?:
            guard Self.isValidJobID(text) else {
                throw JobRejection(
                    code: .invalidJobID,
                    message: "job_id must be 1 to \(Self.maxJobIDLength) characters of A-Z a-z 0-9 . _ : @ / - "
                        + "(got \(text.unicodeScalars.count) characters)",
                    field: "job_id")
            }
            jobID = text
        case let other?:
            throw JobRejection(
                code: .invalidJobID, message: "job_id must be a string, not a \(other.typeName)", field: "job_id")
        }
        func reject(_ code: JobRejection.Code, _ field: String, _ message: String) -> JobRejection {
            JobRejection(code: code, message: "\(field) \(message)", jobID: jobID, field: field)
        }

        // source.url
        guard case .object(let source)? = object["source"] else {
            if let other = object["source"], other != .null {
                throw reject(.missingSource, "source", "must be an object with a url, not a \(other.typeName)")
            }
            throw reject(.missingSource, "source", "is missing")
        }
        let urlText: String
        switch source["url"] {
        case nil, .null?: throw reject(.missingSource, "source.url", "is missing")
        case .string(let text)?: urlText = text
        case let other?: throw reject(.invalidURL, "source.url", "must be a string, not a \(other.typeName)")
        }
        guard Self.isURLSyntaxValid(urlText) else {
            throw reject(
                .invalidURL, "source.url",
                "is not an absolute http or https URL (\(RedactedURL(urlText)))")
        }
        let documentURL: DocumentURL
        do {
            documentURL = try DocumentURL(urlText, field: "source.url")
        } catch {
            throw reject(.invalidURL, "source.url", "\(error.reason) (\(RedactedURL(urlText)))")
        }

        // language
        var languages = LanguageList.default
        switch object["language"] {
        case nil, .null?: break
        case .array(let items)?:
            var names: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let name) = item, Self.isLanguageName(name) else {
                    throw reject(
                        .invalidLanguage, "language",
                        "name #\(index + 1) must be 1 to \(LanguageList.maxNameLength) of A-Z a-z 0-9 _ - + / ( ) .")
                }
                names.append(name)
            }
            languages = try Self.languageList { () throws(TaskRequestError) in try LanguageList(names) }
                .get(orThrow: { reject($0, "language", $1) })
        case .string(let text)?:
            guard text.unicodeScalars.allSatisfy(Self.isCommaListScalar) else {
                throw reject(
                    .invalidLanguage, "language",
                    "must be names of A-Z a-z 0-9 _ - + / ( ) . separated by commas")
            }
            languages = try Self.languageList { () throws(TaskRequestError) in try LanguageList(commaSeparated: text) }
                .get(orThrow: { reject($0, "language", $1) })
        case let other?:
            throw reject(.invalidLanguage, "language", "must be an array of names or a comma string, not a \(other.typeName)")
        }

        // password
        var password: String?
        switch object["password"] {
        case nil, .null?: break
        case .string(let text)?:
            guard text.unicodeScalars.count <= TaskAPI.Limit.maxPasswordLength else {
                throw reject(
                    .passwordTooLong, "password",
                    "is \(text.unicodeScalars.count) characters, at most \(TaskAPI.Limit.maxPasswordLength) allowed")
            }
            guard !text.unicodeScalars.contains(where: Self.isForbiddenPasswordScalar) else {
                throw reject(.invalidPassword, "password", "contains control or format characters")
            }
            password = text
        case let other?:
            throw reject(.invalidPassword, "password", "must be a string, not a \(other.typeName)")
        }

        // format
        var format = OutputFormat.default
        switch object["format"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let parsed = OutputFormat(rawValue: Self.asciiLowercased(text)) else {
                throw reject(
                    .unknownFormat, "format",
                    "must be one of \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = parsed
        case let other?:
            throw reject(.unknownFormat, "format", "must be a string, not a \(other.typeName)")
        }

        let options: TaskOptions
        do {
            options = try TaskOptions(languages: languages, password: password, format: format)
        } catch {
            let code: JobRejection.Code = error.code == .passwordTooLong ? .passwordTooLong : .invalidPassword
            throw reject(code, "password", error.reason)
        }

        // metadata
        var metadata: RawJSON?
        switch members["metadata"] {
        case nil: break
        case let member?:
            switch member.value {
            case .null: break
            case .object:
                guard member.range.count <= maxMetadataBytes else {
                    throw reject(
                        .metadataTooLarge, "metadata",
                        "is \(member.range.count) bytes, at most \(maxMetadataBytes) allowed")
                }
                metadata = RawJSON(uncheckedBytes: Array(value[member.range]), value: member.value)
            default:
                throw reject(.invalidMetadata, "metadata", "must be an object, not a \(member.value.typeName)")
            }
        }

        // deadline
        var deadline: RFC3339.Instant?
        switch object["deadline"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let parsed = RFC3339.parse(text) else {
                throw reject(.invalidDeadline, "deadline", "is not an RFC 3339 date-time (e.g. 2025-01-31T12:00:00Z)")
            }
            deadline = parsed
        case let other?:
            throw reject(.invalidDeadline, "deadline", "must be an RFC 3339 string, not a \(other.typeName)")
        }

        let fingerprint = Self.fingerprint(
            jobID: jobID, url: documentURL.absoluteString, options: options,
            metadata: metadata?.value, deadline: deadline)
        return Job(
            jobID: jobID, source: documentURL, options: options, metadata: metadata, deadline: deadline,
            fingerprint: fingerprint)
    }

    /// ``decode(_:)`` as a `Result`.
    public func result(_ value: [UInt8]?) -> Result<Job, JobRejection> {
        do {
            return .success(try decode(value))
        } catch {
            return .failure(error)
        }
    }

    /// The canonical form behind ``Job/fingerprint``: a JSON object with sorted keys and
    /// normalised values (languages as an array, format lowercase, deadline in UTC,
    /// metadata canonicalised). The password's value is left out, only whether there is
    /// one: fingerprints are logged, and a hash over a short secret and known fields can be
    /// brute-forced.
    public static func canonicalForm(
        jobID: String, url: String, options: TaskOptions, metadata: JSONValue?, deadline: RFC3339.Instant?
    ) -> [UInt8] {
        let node: JSONNode = .object([
            "job_id": .string(jobID),
            "source": .object(["url": .string(url)]),
            "language": .array(options.languages.names.map { .string($0) }),
            "format": .string(options.format.rawValue),
            "password_set": .value(.bool(options.password != nil)),
            "metadata": metadata.map { .value($0) } ?? .null,
            "deadline": .string(deadline?.canonical),
        ])
        var writer = JSONWriter()
        writer.write(node, canonicalNumbers: true)
        return writer.bytes
    }

    static func fingerprint(
        jobID: String, url: String, options: TaskOptions, metadata: JSONValue?, deadline: RFC3339.Instant?
    ) -> String {
        let bytes = canonicalForm(jobID: jobID, url: url, options: options, metadata: metadata, deadline: deadline)
        return Hex.lowercase(SHA256.hash(data: bytes))
    }

    // MARK: Rules shared with schemas/job.schema.json

    /// `^[A-Za-z0-9._:@/-]{1,128}$`
    public static func isValidJobID(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        guard (1...maxJobIDLength).contains(scalars.count) else { return false }
        return scalars.allSatisfy { s in
            switch s {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", ":", "@", "/", "-": true
            default: false
            }
        }
    }

    static func isLanguageScalar(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "+", "/", "(", ")", ".", "-": true
        default: false
        }
    }

    static func isLanguageName(_ name: String) -> Bool {
        (1...LanguageList.maxNameLength).contains(name.unicodeScalars.count)
            && name.unicodeScalars.allSatisfy(isLanguageScalar)
    }

    static func isCommaListScalar(_ s: Unicode.Scalar) -> Bool {
        isLanguageScalar(s) || s == "," || s == " " || s == "\t"
    }

    /// Control (Cc) and format (Cf) characters, as the schema's password pattern lists them
    /// (the set `OCRTaskAPI` refuses, with all of plane 14 for good measure).
    static func isForbiddenPasswordScalar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x600...0x605, 0x61C, 0x6DD, 0x70F, 0x890...0x891, 0x8E2,
            0x180E, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2064, 0x2066...0x206F, 0xFEFF,
            0xFFF9...0xFFFB, 0x110BD, 0x110CD, 0x13430...0x1343F, 0x1BCA0...0x1BCA3, 0x1D173...0x1D17A,
            0xE0000...0xEFFFF:
            true
        default: false
        }
    }

    static func asciiLowercased(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { s in
                    ("A"..."Z").contains(s) ? Unicode.Scalar(s.value + 32)! : s
                }))
    }

    /// The syntax of `source.url`, the schema's pattern: `http` or `https` (any case), `://`,
    /// optional userinfo, a host (name or bracketed IP literal), optional port of 1-5
    /// digits, then path, query and fragment of RFC 3986 characters with valid `%XX`
    /// escapes. No spaces or other characters that need encoding.
    public static func isURLSyntaxValid(_ text: String) -> Bool {
        let b = Array(text.utf8)
        var i = 0
        func lower(_ c: UInt8) -> UInt8 { (0x41...0x5A).contains(c) ? c + 32 : c }
        for c in "http".utf8 {
            guard i < b.count, lower(b[i]) == c else { return false }
            i += 1
        }
        if i < b.count, lower(b[i]) == UInt8(ascii: "s") { i += 1 }
        for c in "://".utf8 {
            guard i < b.count, b[i] == c else { return false }
            i += 1
        }
        func isHex(_ c: UInt8) -> Bool {
            (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
        }
        let unreservedSub = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,;=-".utf8)
        /// Consumes characters of `extra` ∪ unreserved ∪ sub-delims ∪ %XX from `i` up to `end`.
        func run(_ end: Int, extra: String) -> Bool {
            let allowed = Set(extra.utf8)
            var j = i
            while j < end {
                let c = b[j]
                if c == UInt8(ascii: "%") {
                    guard j + 2 < end else { return false }
                    guard isHex(b[j + 1]), isHex(b[j + 2]) else { return false }
                    j += 3
                } else if unreservedSub.contains(c) || allowed.contains(c) {
                    j += 1
                } else {
                    return false
                }
            }
            return true
        }
        let authorityEnd = b[i...].firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? b.count
        // userinfo
        if let at = b[i..<authorityEnd].firstIndex(of: UInt8(ascii: "@")) {
            guard run(at, extra: ":") else { return false }
            i = at + 1
        }
        // host
        if i < authorityEnd, b[i] == UInt8(ascii: "[") {
            guard let close = b[i..<authorityEnd].firstIndex(of: UInt8(ascii: "]")), close > i + 1 else { return false }
            guard b[(i + 1)..<close].allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { return false }
            i = close + 1
        } else {
            let hostEnd = b[i..<authorityEnd].firstIndex(of: UInt8(ascii: ":")) ?? authorityEnd
            guard hostEnd > i, run(hostEnd, extra: "") else { return false }
            i = hostEnd
        }
        // port
        if i < authorityEnd {
            guard b[i] == UInt8(ascii: ":") else { return false }
            let digits = b[(i + 1)..<authorityEnd]
            guard (1...5).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
            i = authorityEnd
        }
        // path
        if i < b.count, b[i] == UInt8(ascii: "/") {
            let end = b[i...].firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? b.count
            guard run(end, extra: ":@/") else { return false }
            i = end
        }
        // query
        if i < b.count, b[i] == UInt8(ascii: "?") {
            i += 1
            let end = b[i...].firstIndex(of: UInt8(ascii: "#")) ?? b.count
            guard run(end, extra: ":@/?") else { return false }
            i = end
        }
        // fragment
        if i < b.count, b[i] == UInt8(ascii: "#") {
            i += 1
            guard run(b.count, extra: ":@/?") else { return false }
            i = b.count
        }
        return i == b.count
    }

    private static func languageList(
        _ body: () throws(TaskRequestError) -> LanguageList
    ) -> LanguageOutcome {
        do {
            return .ok(try body())
        } catch {
            let code: JobRejection.Code = error.code == .tooManyLanguages ? .tooManyLanguages : .invalidLanguage
            return .failed(code, error.reason)
        }
    }

    private enum LanguageOutcome {
        case ok(LanguageList)
        case failed(JobRejection.Code, String)

        func get(orThrow make: (JobRejection.Code, String) -> JobRejection) throws(JobRejection) -> LanguageList {
            switch self {
            case .ok(let list): return list
            case .failed(let code, let reason): throw make(code, reason)
            }
        }
    }
}
