import Synchronization

/// Whether this server can convert office documents (doc, docx, xls, xlsx, ppt, pptx), as
/// the start-up probe of the office sandbox found; shown on `/healthz`.
final class OfficeInputsStatus: Sendable, CustomStringConvertible {
    enum State: Sendable, Equatable {
        /// The probe has not finished yet.
        case unknown
        case available
        /// The sandbox could not run; the reason names what failed.
        case unavailable(String)
    }

    private let state = Mutex(State.unknown)

    func set(_ value: State) { state.withLock { $0 = value } }

    var current: State { state.withLock { $0 } }

    var description: String {
        switch current {
        case .unknown: "unknown"
        case .available: "available"
        case .unavailable(let reason): "unavailable: \(reason)"
        }
    }
}
