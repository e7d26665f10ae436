import Foundation

/// Names and limits of the OCR task API wire contract (docs/architecture.md, "The OCR task API"; PicWish's
/// document OCR API). Client, ocr-server and worker all refer to these constants, so a
/// renamed field is changed in one place.
public enum TaskAPI {
    /// `POST`: create a task from a multipart form.
    public static let createPath = "/api/tasks/document/ocr"

    /// `GET`: query one task.
    ///
    /// The task id is percent-encoded as a single path segment, so an id with `/`, `?`
    /// or `#` can never address another resource.
    public static func queryPath(taskID: String) -> String {
        createPath + "/" + (taskID.addingPercentEncoding(withAllowedCharacters: pathSegmentAllowed) ?? "")
    }

    /// The path template the server routes on; `{task_id}` is the single parameter.
    public static let queryPathTemplate = "/api/tasks/document/ocr/{task_id}"

    /// The header that carries the API key on every request.
    public static let apiKeyHeader = "X-API-KEY"

    /// Multipart form field names of the create call.
    public enum Field {
        /// The document's URL; the provider downloads it (http/https, port 80/443).
        public static let imageURL = "image_url"
        /// The document's bytes.
        public static let imageFile = "image_file"
        /// Alias of `image_file` that real clients send; servers must accept both.
        public static let file = "file"
        /// Comma-separated language names.
        public static let language = "language"
        /// Password of a protected document.
        public static let password = "password"
        /// Output format, see ``OutputFormat``.
        public static let format = "format"
        /// ocr-server only: `1`/`true` recognises every page, even one whose PDF text
        /// layer would be taken as it is (`0`/`false`, the default, takes usable layers).
        public static let forceOCR = "force_ocr"
    }

    /// Limits the provider documents.
    public enum Limit {
        public static let maxLanguages = 10
        public static let maxPasswordLength = 32
        /// 200 MB, the documented upload limit (the provider answers 413 above it).
        public static let maxDocumentBytes: Int64 = 200 * 1024 * 1024
        /// Maximum image side in pixels.
        public static let maxImageSide = 32512
        /// The provider's default per-key rate (PicWish: 2 requests per second).
        public static let defaultRequestsPerSecond = 2.0
        /// How long a result URL (`data.file`) stays valid.
        public static let resultURLLifetimeSeconds = 3600
    }

    /// Languages used when a request names none (the provider's documented default).
    public static let defaultLanguages = ["ChinesePRC", "English", "Digits"]

    /// Input file extensions the provider documents.
    public static let supportedInputExtensions: Set<String> = [
        "pdf", "ppt", "pptx", "xls", "xlsx", "doc", "docx",
        "jpeg", "jpg", "png", "gif", "bmp",
    ]

    private static let pathSegmentAllowed: CharacterSet = {
        var set = CharacterSet.urlPathAllowed
        set.remove(charactersIn: "/?#;%")
        return set
    }()
}
