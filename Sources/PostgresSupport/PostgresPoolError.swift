import PostgresNIO

/// Why an operation on a ``PostgresPool`` did not happen, in words that never hold the
/// password or the URL (PostgresNIO's own errors are turned into text by
/// ``describe(_:)``).
public enum PostgresPoolError: Error, Hashable, CustomStringConvertible {
    /// No answer within the operation's timeout; the connection was closed.
    case timedOut(Duration)
    /// The pool was closed (``PostgresPool/close()``).
    case closed

    public var description: String {
        switch self {
        case .timedOut(let timeout): "postgres: no answer within \(timeout)"
        case .closed: "postgres: the connection pool is closed"
        }
    }

    /// `error` as one line for logs and error messages. PSQLError's own description is
    /// deliberately generic: this takes the server's code and message (which never
    /// contain the password) and the underlying connection error.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            var message = "postgres: \(error.code)"
            if let server = error.serverInfo {
                message += " \(server[.sqlState] ?? ""): \(server[.message] ?? "")"
            }
            if let underlying = error.underlying { message += " (\(underlying))" }
            return message
        case let error as PostgresTransactionError:
            guard let cause = error.closureError ?? error.commitError ?? error.beginError else {
                return "postgres: transaction failed"
            }
            return describe(cause)
        case is PostgresDecodingError:
            return "postgres: a row has columns of the wrong type"
        case let error as PostgresPoolError:
            return error.description
        default:
            return "postgres: \(String(describing: error).prefix(300))"
        }
    }
}
