import Foundation

/// Which call an outcome came from; the same status means different things on each
/// (a 404 on a query is a lost task, on a create a wrong base URL).
public enum TaskEndpoint: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `POST /api/tasks/document/ocr`.
    case create
    /// `GET /api/tasks/document/ocr/{task_id}`.
    case query
    /// `GET` of the result URL (`data.file`).
    case download
    /// `GET` of the source document when the client uploads it itself.
    case sourceFetch = "source_fetch"

    public var description: String { rawValue }
}
