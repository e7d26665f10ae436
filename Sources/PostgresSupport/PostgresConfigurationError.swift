/// A PostgreSQL URL or option that cannot be used. `reason` says what is wrong without the
/// URL or the password, so callers may show it and wrap it in their own errors.
public struct PostgresConfigurationError: Error, Hashable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "invalid PostgreSQL configuration: \(reason)" }
}
