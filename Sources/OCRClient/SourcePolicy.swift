/// How ``OCRClient/createTask(source:options:)`` sends a document named by URL.
public enum SourcePolicy: String, Sendable, Hashable, CaseIterable {
    /// Pass the URL as `image_url` when the provider can fetch it (http/https on port 80
    /// or 443 and a public host); otherwise download it and upload the bytes. The default.
    case auto
    /// Always pass `image_url`; a URL the provider cannot fetch is a validation error.
    case passURL = "pass_url"
    /// Always download the document and upload it as `image_file` (e.g. when the provider
    /// sits outside the network that hosts the documents).
    case upload
}
