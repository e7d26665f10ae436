/// A configuration or argument problem, printed as is: the message names the setting and
/// never carries a secret's value.
struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
