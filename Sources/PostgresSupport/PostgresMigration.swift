/// One numbered step of a component's tables: its statements, with `SCHEMA.` standing for
/// the quoted schema name. Never edit a released step: add one with the next number.
public typealias PostgresMigration = (version: Int, sql: [String])

/// A schema the migrator cannot bring up to date.
public struct PostgresMigrationError: Error, Hashable, CustomStringConvertible {
    public var component: String
    public var reason: String

    public init(component: String, reason: String) {
        self.component = component
        self.reason = reason
    }

    public var description: String { "\(component) schema: \(reason)" }
}
