/// How a create call actually sent its source (reported back for logs and metrics).
public enum SourceMode: String, Sendable, Hashable {
    /// `image_url`: the provider fetches the document.
    case url
    /// `image_file` from a local file.
    case file
    /// `image_file` streamed from a download in progress.
    case downloadAndUpload = "download_and_upload"
}
