public import AsyncHTTPClient
import Crypto
public import Foundation
import HexEncoding
public import NIOCore
import NIOHTTP1
import OCRTaskAPI

/// Where and how to reach an S3-compatible bucket.
public struct S3Configuration: Sendable, Hashable, CustomStringConvertible {
    /// `http(s)://host[:port]`, e.g. `https://s3.eu-west-1.amazonaws.com` or a MinIO/moto URL.
    public var endpoint: URL
    public var bucket: String
    /// Prepended to every key (`results/` style, no leading slash); may be empty.
    public var prefix: String
    public var region: String
    /// `https://endpoint/bucket/key` (MinIO, moto, most self-hosted) instead of
    /// `https://bucket.endpoint/key` (AWS's default).
    public var pathStyle: Bool
    public var credentials: SigV4Signer.Credentials
    /// Size of each multipart part (at least 5 MiB, S3's minimum for all but the last
    /// part); also the most a writer holds in memory. Smaller files go up in one PUT.
    public var partSize: Int

    public static let minimumPartSize = 5 * 1024 * 1024
    public static let defaultPartSize = 8 * 1024 * 1024

    public init(
        endpoint: URL, bucket: String, prefix: String = "", region: String = "us-east-1", pathStyle: Bool = false,
        credentials: SigV4Signer.Credentials, partSize: Int = S3Configuration.defaultPartSize
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
        self.partSize = partSize
    }

    /// Everything but the secret.
    public var description: String {
        "s3://\(bucket)/\(prefix) endpoint=\(endpoint.absoluteString) region=\(region) path_style=\(pathStyle) "
            + "credentials=\(credentials)"
    }
}

/// Result files in an S3-compatible bucket, signed with SigV4 (``SigV4Signer``).
///
/// Upload strategy: the writer buffers up to one part (``S3Configuration/partSize``). A
/// file that fits in one part is sent with a single `PutObject`; a larger one becomes a
/// multipart upload (CreateMultipartUpload, one UploadPart per full buffer,
/// CompleteMultipartUpload), aborted on ``ResultWriter/reset()``, ``ResultWriter/abort()``
/// or a failed completion. This keeps memory to one part per writer without knowing the
/// length up front (a single streamed PUT needs the length before the first byte, and the
/// provider's download may not send one), and every request carries the SHA-256 of its
/// body, so S3 verifies each part (no `UNSIGNED-PAYLOAD`).
public struct S3ResultStore: ResultStore {
    public let configuration: S3Configuration
    let client: HTTPClient
    let signer: SigV4Signer
    let requestTimeout: TimeAmount

    public init(configuration: S3Configuration, httpClient: HTTPClient = .shared, requestTimeout: TimeAmount = .seconds(120))
        throws
    {
        guard configuration.partSize >= S3Configuration.minimumPartSize else {
            throw ResultStoreError(
                code: .invalidConfiguration, message: "part size must be at least \(S3Configuration.minimumPartSize) bytes")
        }
        guard let scheme = configuration.endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https",
            configuration.endpoint.host != nil
        else {
            throw ResultStoreError(code: .invalidConfiguration, message: "the S3 endpoint must be an http(s) URL with a host")
        }
        guard !configuration.bucket.isEmpty else {
            throw ResultStoreError(code: .invalidConfiguration, message: "the bucket name is empty")
        }
        self.configuration = configuration
        self.client = httpClient
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.requestTimeout = requestTimeout
    }

    /// The object key for a result key: prefix + sanitised key.
    public func objectKey(forKey key: String) throws(ResultStoreError) -> String {
        let sanitized = try ResultKey.sanitize(key)
        let prefix = configuration.prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return prefix.isEmpty ? sanitized : prefix + "/" + sanitized
    }

    public func location(forKey key: String) throws -> String {
        "s3://\(configuration.bucket)/\(try objectKey(forKey: key))"
    }

    public func makeWriter(key: String, contentType: String) async throws -> any ResultWriter {
        let objectKey = try objectKey(forKey: key)
        return S3ResultWriter(
            store: self, objectKey: objectKey, location: "s3://\(configuration.bucket)/\(objectKey)",
            contentType: contentType)
    }

    // MARK: Requests

    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    /// Sends one signed request. `objectKey` nil addresses the bucket itself.
    func send(
        method: HTTPMethod, objectKey: String?, query: [(String, String)] = [], headers extra: [(String, String)] = [],
        body: ByteBuffer? = nil, maxResponseBytes: Int = 1 << 20
    ) async throws -> Response {
        let endpoint = configuration.endpoint
        let scheme = endpoint.scheme!.lowercased()
        var host = endpoint.host!
        if host.contains(":") { host = "[\(host)]" }
        var path = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
        if configuration.pathStyle {
            path += "/" + SigV4Signer.uriEncode(configuration.bucket, keepSlash: false)
        } else {
            host = configuration.bucket + "." + host
        }
        if let objectKey { path += "/" + SigV4Signer.uriEncode(objectKey, keepSlash: true) }
        if path.isEmpty { path = "/" }
        let hostHeader = endpoint.port.map { "\(host):\($0)" } ?? host

        let payloadHash: String
        if let body {
            payloadHash = body.withUnsafeReadableBytes { SigV4Signer.hex(SHA256.hash(data: $0)) }
        } else {
            payloadHash = SigV4Signer.emptyPayloadSHA256
        }
        let amzDate = SigV4Signer.amzDate(Date())
        var signedHeaders = [("host", hostHeader), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)]
        if let token = configuration.credentials.sessionToken { signedHeaders.append(("x-amz-security-token", token)) }
        signedHeaders += extra
        let signed = signer.sign(
            method: method.rawValue, path: path, query: query, headers: signedHeaders, payloadHash: payloadHash,
            amzDate: amzDate)

        let queryString = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: "\(scheme)://\(hostHeader)\(path)\(queryString.isEmpty ? "" : "?" + queryString)")
        request.method = method
        for (name, value) in signedHeaders { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "authorization", value: signed.authorization)
        if let body {
            request.body = .bytes(body)
        } else if method == .PUT || method == .POST {
            request.headers.replaceOrAdd(name: "content-length", value: "0")
        }
        let response = try await client.execute(request, timeout: requestTimeout)
        let responseBody = try await response.body.collect(upTo: maxResponseBytes)
        return Response(status: Int(response.status.code), headers: response.headers, body: responseBody)
    }

    /// Throws unless the status is 2xx and the body is not an S3 `<Error>` document
    /// (CompleteMultipartUpload can fail with 200).
    func check(_ response: Response, _ operation: String) throws(ResultStoreError) -> Response {
        let text = String(buffer: response.body)
        if (200..<300).contains(response.status), !text.contains("<Error>") { return response }
        let code = Self.xmlValue("Code", in: text) ?? "HTTP \(response.status)"
        let message = Self.xmlValue("Message", in: text) ?? ""
        throw ResultStoreError(
            code: .http, message: "\(operation) failed: \(code) \(message)".trimmingCharacters(in: .whitespaces),
            status: response.status)
    }

    static func xmlValue(_ element: String, in text: String) -> String? {
        guard let start = text.range(of: "<\(element)>"), let end = text.range(of: "</\(element)>", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func xmlEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Retries a request on transport errors and 5xx answers (3 attempts, 0.5 s then 1 s).
    func withRetries<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await body()
            } catch let error as ResultStoreError where error.code == .http && (error.status ?? 0) < 500 {
                throw error
            } catch {
                if attempt >= 3 || Task.isCancelled { throw error }
                try await Task.sleep(for: .milliseconds(500 * attempt))
            }
        }
    }
}

/// Writes one object for ``S3ResultStore``.
actor S3ResultWriter: ResultWriter {
    private let store: S3ResultStore
    private let objectKey: String
    private let location: String
    private let contentType: String
    private var buffer = ByteBuffer()
    private var uploadID: String?
    private var parts: [(number: Int, etag: String)] = []
    private var size: Int64 = 0
    private var hasher = SHA256()
    private var closed = false

    init(store: S3ResultStore, objectKey: String, location: String, contentType: String) {
        self.store = store
        self.objectKey = objectKey
        self.location = location
        self.contentType = contentType
    }

    func write(_ chunk: ByteBuffer) async throws {
        try checkOpen()
        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        size += Int64(chunk.readableBytes)
        var chunk = chunk
        let partSize = store.configuration.partSize
        while chunk.readableBytes > 0 {
            let take = min(chunk.readableBytes, partSize - buffer.readableBytes)
            var slice = chunk.readSlice(length: take)!
            buffer.writeBuffer(&slice)
            if buffer.readableBytes == partSize {
                try await uploadBufferedPart()
            }
        }
    }

    func finish() async throws -> StoredObject {
        try checkOpen()
        do {
            if uploadID == nil {
                let body = buffer
                let key = objectKey
                let store = self.store
                let contentType = self.contentType
                _ = try await store.withRetries {
                    try store.check(
                        await store.send(
                            method: .PUT, objectKey: key, headers: [("content-type", contentType)], body: body),
                        "PutObject")
                }
            } else {
                if buffer.readableBytes > 0 { try await uploadBufferedPart() }
                try await complete()
            }
        } catch {
            await abort()
            throw error
        }
        closed = true
        buffer = ByteBuffer()
        let digest = Hex.lowercase(hasher.finalize())
        return StoredObject(location: location, size: size, sha256: digest, contentType: contentType)
    }

    func reset() async throws {
        try checkOpen()
        await abortUpload()
        buffer = ByteBuffer()
        parts = []
        size = 0
        hasher = SHA256()
    }

    func abort() async {
        closed = true
        buffer = ByteBuffer()
        await abortUpload()
    }

    private func checkOpen() throws(ResultStoreError) {
        guard !closed else {
            throw ResultStoreError(code: .misuse, message: "the writer for \(location) is already finished or aborted")
        }
    }

    private func uploadBufferedPart() async throws {
        let store = self.store
        let key = objectKey
        if uploadID == nil {
            let contentType = self.contentType
            let response = try await store.withRetries {
                try store.check(
                    await store.send(
                        method: .POST, objectKey: key, query: [("uploads", "")],
                        headers: [("content-type", contentType)]),
                    "CreateMultipartUpload")
            }
            guard let id = S3ResultStore.xmlValue("UploadId", in: String(buffer: response.body)) else {
                throw ResultStoreError(code: .http, message: "CreateMultipartUpload returned no UploadId")
            }
            uploadID = id
        }
        let uploadID = self.uploadID!
        let number = parts.count + 1
        let body = buffer
        let response = try await store.withRetries {
            try store.check(
                await store.send(
                    method: .PUT, objectKey: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                    body: body),
                "UploadPart")
        }
        guard let etag = response.headers.first(name: "etag") else {
            throw ResultStoreError(code: .http, message: "UploadPart returned no ETag")
        }
        parts.append((number, etag))
        buffer.clear()
    }

    private func complete() async throws {
        guard let uploadID else { return }
        var xml = "<CompleteMultipartUpload>"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(S3ResultStore.xmlEscape(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let store = self.store
        let key = objectKey
        let body = ByteBuffer(string: xml)
        _ = try await store.withRetries {
            try store.check(
                await store.send(
                    method: .POST, objectKey: key, query: [("uploadId", uploadID)],
                    headers: [("content-type", "application/xml")], body: body),
                "CompleteMultipartUpload")
        }
        self.uploadID = nil
    }

    private func abortUpload() async {
        guard let uploadID else { return }
        self.uploadID = nil
        parts = []
        _ = try? await store.send(method: .DELETE, objectKey: objectKey, query: [("uploadId", uploadID)])
    }
}
