import OCRTaskAPI

/// The `force_ocr` form field: ocr-server's switch for skipping PDF text layers.
///
/// Absent or empty means false. Only `1`/`0`/`true`/`false` (any case) are accepted: a
/// typo such as `yes` or `ture` is refused with a 400 rather than read as false, because a
/// caller who asked for recognition and silently got the text layer would never learn it.
enum ForceOCRField {
    static func parse(_ value: String?) throws(TaskRequestError) -> Bool {
        guard let value, !value.isEmpty else { return false }
        switch value.lowercased() {
        case "1", "true": return true
        case "0", "false": return false
        default:
            throw TaskRequestError(code: .invalidFlag, field: TaskAPI.Field.forceOCR, reason: "must be 1, 0, true or false")
        }
    }
}
