public import OCRTaskAPI

/// The document a task is created from.
public enum DocumentSource: Sendable, Hashable {
    /// A document on the web; the ``SourcePolicy`` decides whether the provider or the
    /// client fetches it.
    case url(String)
    /// A URL already checked (a job's `source.url`, parsed when the job was decoded): the
    /// same as ``url(_:)`` without parsing it again on every create attempt.
    case checkedURL(DocumentURL)
    /// A local file, streamed from disk as `image_file`. `filename` defaults to the
    /// path's last component; `contentType` to one derived from its extension.
    case file(path: String, filename: String? = nil, contentType: String? = nil)
}
