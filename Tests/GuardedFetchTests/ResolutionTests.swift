import AsyncHTTPClient
import Foundation
import GuardedFetch
import NIOCore
import NIOHTTP1
import NIOPosix
import NetworkAddress
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
        let url = try DocumentURL("http://stuck.example.test/doc.pdf")
        // In a task of its own, watched with a deadline of the test's: a fetch that waited
        // for the resolver would never end.
        let outcome = Box<(any Error)??>(nil)
        let fetch = Task {
            do {
                _ = try await fetcher.get(url, deadline: .now() + .seconds(60), headers: { _ in HTTPHeaders() }) { _ in 0 }
                outcome.value.withLock { $0 = .some(nil) }
            } catch {
                outcome.value.withLock { $0 = .some(error) }
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while outcome.value.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        guard let ended = outcome.value.withLock({ $0 }) else {
            fetch.cancel()
            Issue.record("the fetch waited for the resolver past 10 s")
            return
        }
        let error = try #require(ended as? GuardedFetchError, "\(String(describing: ended))")
        #expect(error == .unresolvable(url: "http://stuck.example.test/doc.pdf", noAnswerWithin: .milliseconds(300)))
        #expect("\(error)".contains("did not answer within 300 ms"), "\(error)")
    }

    /// Every thread of NIO's shared blocking pool is busy (queued work beyond them too)
    /// until a release 5 s later: the system resolver answers before that, on its own
    /// threads.
    @Test func theSystemResolverDoesNotWaitForNIOsSharedPool() async throws {
        let blocker = DispatchSemaphore(value: 0)
        let count = 64
        let running = Box(0)
        let blocked = (0..<count).map { _ in
            Task {
                try? await NIOThreadPool.singleton.runIfActive {
                    running.value.withLock { $0 += 1 }
                    blocker.wait()
                }
            }
        }
        let released = Box(false)
        let release: @Sendable () -> Void = {
            let first = released.value.withLock { wasReleased in
                defer { wasReleased = true }
                return !wasReleased
            }
            if first { for _ in 0..<count { blocker.signal() } }
        }
        let releaser = Task {
            try? await Task.sleep(for: .seconds(5))
            release()
        }
        // Every thread of the pool (one per core) is blocked before the lookup starts.
        let threads = min(count, System.coreCount)
        let poolFull = ContinuousClock.now + .seconds(4)
        while running.value.withLock({ $0 }) < threads, ContinuousClock.now < poolFull { try await Task.sleep(for: .milliseconds(5)) }
        #expect(running.value.withLock { $0 } == threads, "NIO's pool did not fill")
        let addresses = try await SystemHostResolver().resolve("localhost")
        let answeredWhileBlocked = !released.value.withLock { $0 }
        release()
        releaser.cancel()
        for task in blocked { await task.value }
        #expect(answeredWhileBlocked, "the lookup waited for NIO's shared pool")
        #expect(addresses.contains(IPAddress("127.0.0.1")!) || addresses.contains(IPAddress("::1")!), "\(addresses)")
    }
}

/// A value tasks and pool threads share.
final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}
