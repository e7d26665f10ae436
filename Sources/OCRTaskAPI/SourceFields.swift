import Foundation

/// The source rule of the create form: exactly one of `image_url`, `image_file` or its
/// alias `file`.
public enum SourceFields {
    /// Which source a form carries.
    public enum Kind: Sendable, Hashable {
        case url(DocumentURL)
        /// The bytes arrived under this field name (`image_file` or `file`).
        case file(fieldName: String)
    }

    /// Checks the source fields of a received form and validates the URL if that is the
    /// source. `fileFieldNames` are the names of the file parts present (only
    /// `image_file` and `file` count). The port and host rules of `image_url` are the
    /// server's to apply (``DocumentURL/imageURLViolation(allowingNonPublicHosts:)``),
    /// since an on-premises server may allow private hosts.
    public static func resolve(imageURL: String?, fileFieldNames: [String]) throws(TaskRequestError) -> Kind {
        let files = fileFieldNames.filter { $0 == TaskAPI.Field.imageFile || $0 == TaskAPI.Field.file }
        let hasURL = !(imageURL?.isEmpty ?? true)
        switch (hasURL, files.count) {
        case (false, 0):
            throw TaskRequestError(
                code: .missingSource, field: TaskAPI.Field.imageURL,
                reason: "one of image_url or image_file is required")
        case (true, 0):
            return .url(try DocumentURL(imageURL ?? ""))
        case (false, 1):
            return .file(fieldName: files[0])
        default:
            throw TaskRequestError(
                code: .conflictingSources, field: hasURL ? TaskAPI.Field.imageURL : TaskAPI.Field.imageFile,
                reason: "exactly one of image_url or image_file (alias file) is allowed")
        }
    }
}
