/// The document a task is created from.
public enum DocumentSource: Sendable, Hashable {
    /// A document on the web; the ``SourcePolicy`` decides whether the provider or the
    /// client fetches it.
    case url(String)
    /// A local file, streamed from disk as `image_file`. `filename` defaults to the
    /// path's last component; `contentType` to one derived from its extension.
    case file(path: String, filename: String? = nil, contentType: String? = nil)
}
