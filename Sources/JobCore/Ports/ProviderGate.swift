/// The provider's health as the job engine sees it: wait before a call while the
/// provider is paused (401, open circuit), and report each call's outcome. The worker's
/// `ProviderMonitor` is the real one.
public protocol ProviderGate: Sendable {
    func waitUntilUsable() async throws
    func recordSuccess()
    func record(_ failure: ProviderFailure)
}
