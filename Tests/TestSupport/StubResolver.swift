public import GuardedFetch
public import NetworkAddress
import OCRTaskAPI
import Synchronization

/// A resolver that answers from a script: each host's answers in turn (the last one
/// repeats), counting the questions. A rebinding DNS server in a box.
public final class StubResolver: HostResolver {
    private let state: Mutex<(answers: [String: [[String]]], calls: [String: Int])>

    public init(_ answers: [String: [[String]]]) {
        state = Mutex((answers, [:]))
    }

    public func resolve(_ host: String) async throws -> [IPAddress] {
        state.withLock { state in
            let count = state.calls[host, default: 0]
            state.calls[host] = count + 1
            guard let script = state.answers[host], !script.isEmpty else { return [] }
            return script[min(count, script.count - 1)].compactMap { IPAddress($0) }
        }
    }

    public func calls(_ host: String) -> Int { state.withLock { $0.calls[host, default: 0] } }
}
