public import NetworkAddress
import OCRTaskAPI

/// Turns a host name into addresses. ``GuardedFetcher`` asks once per hop, checks every
/// answer, and connects to an address it checked: an implementation is never asked again
/// for the same hop, so a rebinding DNS server gains nothing by changing its answer.
public protocol HostResolver: Sendable {
    /// Every address of `host` (a name, never a literal address). Empty or a thrown error
    /// means the host cannot be resolved.
    func resolve(_ host: String) async throws -> [IPAddress]
}
