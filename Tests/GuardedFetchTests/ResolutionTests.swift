import AsyncHTTPClient
import Foundation
import GuardedFetch
import NIOCore
import NIOHTTP1
import NIOPosix
import OCRTaskAPI
import Synchronization
import Testing

/// Name resolution never stalls a download past its own deadline, nor anything else in the
/// process: a resolver that does not answer fails the hop with a clear error in time, and
/// the system resolver's lookups run on threads of their own, not NIO's shared pool.
@Suite struct ResolutionTests {
    /// A resolver that never answers and ignores cancellation, as a `getaddrinfo` stuck on
    /// a dead DNS server does; it is released at the end of the test.
    final class HangingResolver: HostResolver {
        private let released = DispatchSemaphore(value: 0)
        func resolve(_ host: String) async throws -> [IPAddress] {
            // Blocks a thread of its own, as a stuck getaddrinfo blocks its thread.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread {
                    self.released.wait()
                    continuation.resume()
                }.start()
            }
            return []
        }
        func release() { released.signal() }
    }

    @Test func aResolverThatNeverAnswersFailsTheFetchAtItsDeadline() async throws {
        let resolver = HangingResolver()
        defer { resolver.release() }
        let fetcher = GuardedFetcher(policy: .allowingPrivate, resolver: resolver, resolveTimeout: .milliseconds(300))
        let started = ContinuousClock.now
        do {
            _ = try await fetcher.get(
                try DocumentURL("http://stuck.example.test/doc.pdf"), deadline: .now() + .seconds(60),
                headers: { _ in HTTPHeaders() }
            ) { _ in 0 }
            Issue.record("the fetch succeeded")
        } catch let error as GuardedFetchError {
            #expect(error == .unresolvable(url: "http://stuck.example.test/doc.pdf", noAnswerWithin: .milliseconds(300)))
            #expect("\(error)".contains("did not answer within 300 ms"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(10), "failed at the resolution deadline, not the download's")
    }

    /// Every thread of NIO's shared blocking pool is busy (queued work beyond them too)
    /// until a release 5 s later: the system resolver answers before that, on its own
    /// threads.
    @Test func theSystemResolverDoesNotWaitForNIOsSharedPool() async throws {
        let blocker = DispatchSemaphore(value: 0)
        let count = 64
        let blocked = (0..<count).map { _ in
            Task { try? await NIOThreadPool.singleton.runIfActive { blocker.wait() } }
        }
        let released = Mutex(false)
        let release: @Sendable () -> Void = {
            let first = released.withLock { wasReleased in
                defer { wasReleased = true }
                return !wasReleased
            }
            if first { for _ in 0..<count { blocker.signal() } }
        }
        let releaser = Task {
            try? await Task.sleep(for: .seconds(5))
            release()
        }
        let addresses = try await SystemHostResolver().resolve("localhost")
        let answeredWhileBlocked = !released.withLock { $0 }
        release()
        releaser.cancel()
        for task in blocked { await task.value }
        #expect(answeredWhileBlocked, "the lookup waited for NIO's shared pool")
        #expect(addresses.contains(IPAddress("127.0.0.1")!) || addresses.contains(IPAddress("::1")!), "\(addresses)")
    }
}
