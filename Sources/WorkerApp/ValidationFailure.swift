/// A configuration or argument problem, printed as is: the message names the setting and
/// never carries a secret's value.
public struct ValidationFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
