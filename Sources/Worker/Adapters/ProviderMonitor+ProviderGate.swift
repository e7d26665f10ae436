public import JobCore

extension ProviderMonitor: ProviderGate {
    public func record(_ failure: ProviderFailure) {
        record(action: failure.action, detail: failure.message)
    }
}
