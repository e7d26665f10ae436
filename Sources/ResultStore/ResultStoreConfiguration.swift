public import AsyncHTTPClient
public import Foundation

/// Which result store to use, from one URL:
///
/// - `file:///var/lib/ocr/results` (or a plain absolute path): ``DirectoryResultStore``;
/// - `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true`:
///   ``S3ResultStore``. `endpoint` defaults to `https://s3.<region>.amazonaws.com`,
///   `region` to `AWS_REGION` or `us-east-1`, `path_style` to false; `part_size` (bytes)
///   is optional. Credentials come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
///   optionally `AWS_SESSION_TOKEN`, never from the URL.
public enum ResultStoreConfiguration: Sendable, Hashable, CustomStringConvertible {
    case directory(path: String)
    case s3(S3Configuration)

    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if text.hasPrefix("/") {
            self = .directory(path: text)
            return
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw Self.invalid("the result store must be a file:// or s3:// URL")
        }
        guard components.user == nil, components.password == nil else {
            throw Self.invalid("credentials do not belong in the result store URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        switch scheme {
        case "file":
            guard components.host == nil || components.host == "" || components.host == "localhost" else {
                throw Self.invalid("a file:// result store must be local (file:///path)")
            }
            let path = components.path
            guard path.hasPrefix("/") else { throw Self.invalid("a file:// result store needs an absolute path") }
            self = .directory(path: path)
        case "s3":
            guard let bucket = components.host, !bucket.isEmpty else { throw Self.invalid("an s3:// URL needs a bucket") }
            var options: [String: String] = [:]
            for item in components.queryItems ?? [] { options[item.name] = item.value ?? "" }
            let known: Set<String> = ["endpoint", "region", "path_style", "part_size"]
            if let unknown = options.keys.first(where: { !known.contains($0) }) {
                throw Self.invalid("unknown s3 option \(unknown); known: \(known.sorted().joined(separator: ", "))")
            }
            let region = options["region"] ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
            let endpointText = options["endpoint"] ?? "https://s3.\(region).amazonaws.com"
            guard let endpoint = URL(string: endpointText), let endpointScheme = endpoint.scheme?.lowercased(),
                endpointScheme == "http" || endpointScheme == "https", endpoint.host != nil
            else { throw Self.invalid("endpoint must be an http(s) URL") }
            let pathStyle: Bool
            switch options["path_style"]?.lowercased() {
            case nil, "false", "0", "no": pathStyle = false
            case "true", "1", "yes", "": pathStyle = true
            default: throw Self.invalid("path_style must be true or false")
            }
            var partSize = S3Configuration.defaultPartSize
            if let text = options["part_size"] {
                guard let value = Int(text), value >= S3Configuration.minimumPartSize else {
                    throw Self.invalid("part_size must be an integer of at least \(S3Configuration.minimumPartSize)")
                }
                partSize = value
            }
            guard let accessKey = environment["AWS_ACCESS_KEY_ID"], !accessKey.isEmpty,
                let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
            else { throw Self.invalid("an s3:// result store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") }
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            var prefix = components.path
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            self = .s3(
                S3Configuration(
                    endpoint: endpoint, bucket: bucket, prefix: prefix, region: region, pathStyle: pathStyle,
                    credentials: .init(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: token),
                    partSize: partSize))
        default:
            throw Self.invalid("unsupported result store scheme \(scheme); use file:// or s3://")
        }
    }

    /// Safe to print: no secret.
    public var description: String {
        switch self {
        case .directory(let path): URL(fileURLWithPath: path).absoluteString
        case .s3(let configuration): configuration.description
        }
    }

    private static func invalid(_ message: String) -> ResultStoreError {
        ResultStoreError(code: .invalidConfiguration, message: message)
    }
}

/// The store a configuration names. The S3 store sends its requests through `httpClient`.
public func makeResultStore(
    _ configuration: ResultStoreConfiguration, httpClient: HTTPClient = .shared
) throws -> any ResultStore {
    switch configuration {
    case .directory(let path): try DirectoryResultStore(root: path)
    case .s3(let s3): try S3ResultStore(configuration: s3, httpClient: httpClient)
    }
}
