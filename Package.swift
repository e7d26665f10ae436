// swift-tools-version:6.0
//
// ocr-worker: Kafka jobs in, asynchronous OCR tasks, results and dead letters out.
// The data flow reads from the target list: Kafka -> Worker (job state machine) ->
// OCRClient (provider API) -> Ledger -> ResultStore -> Kafka. ocr-server is the
// self-hosted provider behind the same OCRTaskAPI contract.

import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "ocr-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ocr-worker", targets: ["ocr-worker"]),
        .executable(name: "ocr-server", targets: ["ocr-server"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "OCRTaskAPI", targets: ["OCRTaskAPI"]),
        .library(name: "OCRClient", targets: ["OCRClient"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "PostgresSupport", targets: ["PostgresSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
    ],
    targets: [
        // MARK: Kafka in and out

        .systemLibrary(
            name: "Crdkafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "Crdkafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // MARK: The OCR task API (wire contract) and its client

        // IP addresses and the one classification of hosts every download is checked with.
        .target(
            name: "NetworkAddress",
            swiftSettings: strict
        ),
        // The one cancellable FIFO semaphore (fair among keys): create limit, server limits,
        // engine slots.
        .target(
            name: "Permits",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: strict
        ),
        // Calls that give up at a deadline even when what they wait on ignores cancellation.
        .target(
            name: "Deadlines",
            swiftSettings: strict
        ),
        // Lowercase hex of digests and tokens.
        .target(
            name: "HexEncoding",
            swiftSettings: strict
        ),
        .target(
            name: "OCRTaskAPI",
            dependencies: ["NetworkAddress"],
            swiftSettings: strict
        ),
        // The SSRF guard of every download of ours (worker and ocr-server): resolve once,
        // check every address, connect to a checked one, follow redirects by hand.
        .target(
            name: "GuardedFetch",
            dependencies: [
                "Deadlines",
                "NetworkAddress",
                "OCRTaskAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OCRClient",
            dependencies: [
                "Deadlines",
                "Permits",
                "NetworkAddress",
                "HexEncoding",
                "OCRTaskAPI",
                "GuardedFetch",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),

        // MARK: ocr-server: the self-hosted provider on Tesseract

        .systemLibrary(
            name: "CTesseract",
            pkgConfig: "tesseract",
            providers: [.apt(["libtesseract-dev", "libleptonica-dev"])]
        ),
        .target(
            name: "OCREngine",
            dependencies: [
                "Permits",
                "CTesseract",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OCRServer",
            dependencies: [
                "Permits",
                "NetworkAddress",
                "OCRTaskAPI",
                "GuardedFetch",
                "OCREngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The shared task store of replicas: PostgreSQL, opened as the worker opens it.
                "PostgresSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ocr-server",
            dependencies: [
                "OCRServer",
                "OCREngine",
                "JSONLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // MARK: The worker

        // When to poll a task: learned durations, progress trust, the backoff. Pure: no I/O,
        // no clock reads (the caller passes elapsed times in).
        .target(
            name: "PollPlanning",
            dependencies: ["OCRTaskAPI"],
            swiftSettings: strict
        ),
        // One job's life: the state machine, its events and effects, and the ports it is
        // performed through, in domain types. No I/O and no imports of Kafka, the ledger,
        // the client or the result store: those adapt to the ports (Worker/Adapters,
        // Ledger).
        .target(
            name: "JobCore",
            dependencies: ["JobContract", "OCRTaskAPI", "PollPlanning"],
            swiftSettings: strict
        ),
        .target(
            name: "Worker",
            dependencies: [
                "Permits",
                "HexEncoding",
                "JobCore",
                "PollPlanning",
                "Kafka",
                "OCRTaskAPI",
                "OCRClient",
                "Ledger",
                "PostgresSupport",
                "JobContract",
                "ResultStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "JSONLogging",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The worker's composition root and settings: everything `ocr-worker run` does
        // between reading its flags and running, as a library the tests call in process.
        .target(
            name: "WorkerApp",
            dependencies: [
                "Worker",
                "JobCore",
                "PollPlanning",
                "Kafka",
                "Ledger",
                "PostgresSupport",
                "ResultStore",
                "JobContract",
                "OCRClient",
                "JSONLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ocr-worker",
            dependencies: [
                "WorkerApp",
                "Worker",
                "JobCore",
                "Kafka",
                "Ledger",
                "ResultStore",
                "JobContract",
                "OCRClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strict
        ),

        // The plain-code baseline of `scripts/bench worker` (pass-through jobs on the same
        // libraries, no job engine): not shipped, never run in production.
        .executableTarget(
            name: "plain-worker",
            dependencies: [
                "Permits",
                "Kafka", "Ledger", "OCRClient", "OCRTaskAPI", "Worker", "PollPlanning", "JobCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // The poll planner's exact decisions for `scripts/bench provider`, over stdin/stdout.
        .executableTarget(
            name: "poll-plan-driver",
            dependencies: ["PollPlanning"],
            swiftSettings: strict
        ),

        // MARK: Job contract and result store

        .target(
            name: "JobContract",
            dependencies: [
                "HexEncoding",
                "OCRTaskAPI",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),

        // MARK: PostgreSQL for every program: connection options (URL, password, TLS,
        // timeouts), one connection pool per process, one versioned migrator

        .target(
            name: "PostgresSupport",
            dependencies: [
                "Deadlines",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PostgresSupportTests",
            dependencies: [
                "PostgresSupport",
                "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // MARK: Ledger: idempotent job tracking (SQLite through GRDB, PostgreSQL through
        // PostgresSupport), one contract suite run against both

        .target(
            name: "Ledger",
            dependencies: [
                "JobCore",
                "PostgresSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger",
                "TestSupport",
                "JobCore",
                "PostgresSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ResultStore",
            dependencies: [
                "HexEncoding",
                "OCRTaskAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "JobContractTests",
            dependencies: ["JobContract", "OCRTaskAPI"],
            exclude: ["Examples"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ResultStoreTests",
            dependencies: [
                "ResultStore",
                "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),

        // MARK: Tests

        // What test targets share (a clock that moves only when told).
        .target(
            name: "TestSupport",
            dependencies: [
                "Deadlines",
                "PostgresSupport",
                "NetworkAddress",
                "GuardedFetch",
                "OCRTaskAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "Worker",
                "WorkerApp",
                "JobCore",
                "PollPlanning",
                "TestSupport",
                "Kafka",
                "Ledger",
                "PostgresSupport",
                "JobContract",
                "OCRClient",
                "OCRTaskAPI",
                "ResultStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "OCRTaskAPITests",
            dependencies: ["OCRTaskAPI"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeadlinesTests",
            dependencies: ["Deadlines", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TestSupportTests",
            dependencies: ["TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PermitsTests",
            dependencies: ["Permits", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "NetworkAddressTests",
            dependencies: ["NetworkAddress"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GuardedFetchTests",
            dependencies: [
                "NetworkAddress",
                "GuardedFetch",
                "TestSupport",
                "OCRTaskAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "OCRClientTests",
            dependencies: [
                "OCRClient",
                "TestSupport",
                "OCRTaskAPI",
                "GuardedFetch",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // MARK: Fuzzing (scripts/fuzz builds the Fuzz* executables with -sanitize=fuzzer
        // into .build-fuzz; a normal build makes them plain corpus replayers)

        .target(name: "FuzzEntries", dependencies: ["JobContract", "OCRTaskAPI"], swiftSettings: strict),
        .executableTarget(name: "FuzzJobRecord", dependencies: ["FuzzEntries"], swiftSettings: strict),
        .executableTarget(name: "FuzzProviderReply", dependencies: ["FuzzEntries"], swiftSettings: strict),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["FuzzEntries", "JobCore"], swiftSettings: strict),

        .testTarget(
            name: "OCREngineTests",
            dependencies: ["OCREngine", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "OCRServerTests",
            dependencies: [
                "OCRServer",
                "TestSupport",
                "PostgresSupport",
                "GuardedFetch",
                "OCRTaskAPI",
                "OCREngine",
                "OCRClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Resources"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
