import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's Tesseract is built with OpenMP (libgomp). Engines running side by side, each
/// with its own team of OpenMP threads, oversubscribe the cores: one page took 13.7 s
/// instead of 2.1 s on two cores. libgomp reads `OMP_THREAD_LIMIT` / `OMP_NUM_THREADS` in
/// its library constructor, before `main`, and `omp_set_num_threads` from a pool thread
/// does not limit the teams Tesseract opens; so the only reliable switch is the
/// environment the process starts with. ``ensureOneThreadPerEngine(arguments:)`` re-executes
/// the program once with it set, before anything else runs.
public enum OpenMP {
    /// Marks the re-executed process, so a libgomp that ignores the variable cannot cause
    /// an exec loop.
    static let reexecMarker = "OCR_SERVER_OMP_REEXEC"

    /// What the process runs with, as libgomp itself reports it.
    public struct Effective: Sendable, Equatable, CustomStringConvertible {
        /// `omp_get_thread_limit()`, nil when no OpenMP runtime is loaded.
        public var threadLimit: Int?
        /// `omp_get_max_threads()`, nil when no OpenMP runtime is loaded.
        public var maxThreads: Int?
        /// True when the runtime is absent or allows one thread per parallel region.
        public var isSingleThreaded: Bool { (threadLimit ?? 1) <= 1 || (maxThreads ?? 1) <= 1 }
        public var description: String {
            guard let threadLimit, let maxThreads else { return "no OpenMP runtime loaded" }
            return "thread_limit=\(threadLimit) max_threads=\(maxThreads)"
        }
    }

    private typealias IntGetter = @convention(c) () -> Int32

    private static func lookUp(_ name: String) -> IntGetter? {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
            return unsafeBitCast(symbol, to: IntGetter.self)
        #else
            return nil
        #endif
    }

    /// Asks the loaded OpenMP runtime (looked up at run time: nothing links libgomp directly).
    public static var effective: Effective {
        Effective(
            threadLimit: lookUp("omp_get_thread_limit").map { Int($0()) },
            maxThreads: lookUp("omp_get_max_threads").map { Int($0()) })
    }

    /// Outcome of ``ensureOneThreadPerEngine(arguments:)`` for the start-up log.
    public enum StartDecision: Sendable, Equatable {
        /// The environment already asked for one thread.
        case alreadySet
        /// This process is the re-executed one.
        case reexecuted
        /// Re-executing was impossible (the runtime still reports more than one thread).
        case reexecFailed(String)
    }

    /// Call first thing in `main`: when `OMP_THREAD_LIMIT` is not "1", sets it and
    /// `OMP_NUM_THREADS=1` and replaces the process with a fresh copy of itself (same
    /// arguments, same pid), so libgomp's constructor reads them. Runs at most once per
    /// start (guarded by a marker variable). Returns only when no exec happened.
    public static func ensureOneThreadPerEngine(arguments: [String] = CommandLine.arguments) -> StartDecision {
        let environment = ProcessInfo.processInfo.environment
        let reexecuted = environment[reexecMarker] == "1"
        unsetenv(reexecMarker)
        if environment["OMP_THREAD_LIMIT"] == "1" {
            return reexecuted ? .reexecuted : .alreadySet
        }
        if reexecuted {
            return .reexecFailed("OMP_THREAD_LIMIT is not 1 after re-executing")
        }
        setenv("OMP_THREAD_LIMIT", "1", 1)
        setenv("OMP_NUM_THREADS", "1", 1)
        setenv(reexecMarker, "1", 1)
        let cArguments = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", cArguments)
        // Only reached when exec failed.
        let reason = String(cString: strerror(errno))
        for pointer in cArguments { free(pointer) }
        unsetenv(reexecMarker)
        return .reexecFailed("could not re-execute /proc/self/exe: \(reason)")
    }
}
