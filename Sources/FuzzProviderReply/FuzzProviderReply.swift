import FuzzEntries

// Built two ways. Normally (`swift build`) this is a plain program that runs each file
// named on its command line through the entry once: a crash reproducer. scripts/fuzz
// builds it with `-sanitize=fuzzer -DFUZZING`: libFuzzer then drives the entry. SwiftPM
// links an executable with `main` aliased to `<module>_main`, so that is the symbol
// that starts libFuzzer's driver.

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        ProviderReplyFuzz.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }

    @_cdecl("FuzzProviderReply_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments, fuzzTestOneInput)
    }
#else
    import Foundation

    @main struct Replay {
        static func main() throws {
            for path in CommandLine.arguments.dropFirst() {
                ProviderReplyFuzz.run(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                print("ok \(path)")
            }
        }
    }
#endif
