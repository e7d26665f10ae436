public import JobContract

/// Streams a task's result file from the provider into our result store (no whole file in
/// memory). The real one pairs the OCR client's download with a result store
/// (`Worker/Adapters/StoreRehoster.swift`).
public protocol ResultRehoster: Sendable {
    /// Throws only `CancellationError`; everything else is an outcome.
    func rehost(fileURL: String, for job: Job) async throws -> RehostOutcome
}

/// What a rehost came to.
public enum RehostOutcome: Sendable, Hashable {
    /// Stored: where, how big, its digest. `fileURLExpiresAt` is left for the machine.
    case stored(JobResult.ResultFile)
    /// The provider's side failed (an expired URL, a transient error, a file too large).
    case providerFailed(ProviderFailure)
    /// Our result store failed: never the job's fault, fetched again later.
    case storeFailed(reason: String)
}
