// swift-tools-version:6.1
import PackageDescription

// Dependencies are kept lean on purpose: every package here is rebuilt from
// scratch by CI on two cores. MD5, SHA-256, 128-bit hash keys and the 188-bit
// sequence numbers are small enough to own; locks are a pthread mutex of our own
// (`LockedValue`: ThreadSanitizer cannot see the standard library's Mutex on Linux).
// Attach's HTTP calls (Kinesis, CloudWatch, another ktop) use Foundation's
// URLSession, which brings TLS for AWS endpoints without another package.
let package = Package(
    name: "ktop",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ktop", targets: ["ktop"]),
        .library(name: "StreamEngine", targets: ["StreamEngine"]),
        // For the benchmark harness (Benchmarks/): the dashboard frame benchmark
        // renders a real metrics store's view of a 1,000-shard stream, and the
        // HTTP benchmarks run the Kinesis server in-process.
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Dashboard", targets: ["Dashboard"]),
        .library(name: "KinesisAPI", targets: ["KinesisAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Latency percentiles (PutRecord.Latency …) in Metrics.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // HTTP/2 on `ktop serve` (h2c, and h2 by ALPN): the Java SDK v2 and the KCL read SubscribeToShard
        // over HTTP/2. With swift-nio-ssl below, the first debug build grew by 7 min 41 s wall, 5 min 38 s
        // CPU (measured on this 2-core machine under other builds' load; the project's own first build
        // took 5 min 40 s wall, 3 min 58 s CPU the same way). Most of it is swift-nio-ssl's BoringSSL.
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        // TLS on `ktop serve` and `--listen` (--tls-cert/--tls-key, --tls-self-signed), ALPN offering h2 and
        // http/1.1: AWS SDKs speak HTTP/2 over https only. Brings its own BoringSSL (cost: see above).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // `ktop sql` (Sources/Analytics): each window's records are rows of an in-memory SQLite table and the
        // user's SELECT is run by SQLite itself, through GRDB over the system libsqlite3 (libsqlite3-dev).
        // Its first debug build here: 38 s wall, 59 s CPU (169 files), on this 2-core machine.
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    ],
    targets: [
        .target(
            name: "StreamEngine",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")]
        ),
        .target(
            name: "Metrics",
            dependencies: ["StreamEngine", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        .target(name: "LoadGen", dependencies: ["StreamEngine"]),
        .target(
            name: "KinesisAPI",
            dependencies: [
                "StreamEngine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // `ktop attach`: a remote stream's control plane and a polite GetRecords reader, as EngineSample parts.
        // A remote stream as engine-shaped samples (`ktop attach`): control plane, reader, stream list.
        .target(name: "Attach", dependencies: ["StreamEngine", "LoadGen", "KinesisAPI", "Metrics"]),
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        // `ktop sql`: continuous SQL over a stream, a Kinesis consumer through the public KinesisClient API.
        .target(
            name: "Analytics",
            dependencies: [
                "StreamEngine", "LoadGen", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // Firehose's GZIP and ZIP objects deflate with the system zlib (zlib1g-dev, installed by Tests/run): no
        // package to fetch or build, where compress-nio (gzip) and ZIPFoundation (zip) would each add one; the ZIP
        // container around zlib's deflate is ~40 lines. Measured: the Firehose module with it builds in 10 s
        // wall (11 s CPU, debug) on this 2-core machine.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Amazon Data Firehose (`Firehose_20150804.*` on ktop serve): delivery streams into a local S3 folder.
        .target(name: "Firehose", dependencies: ["StreamEngine", "LoadGen", "CZlib"]),
        .testTarget(name: "FirehoseTests", dependencies: ["Firehose", "StreamEngine", "LoadGen"]),
        .target(name: "Dashboard", dependencies: ["StreamEngine", "Metrics"]),
        .executableTarget(
            name: "ktop",
            dependencies: [
                "StreamEngine", "Metrics", "LoadGen", "KinesisAPI", "Dashboard", "CNcurses", "Attach",
                "Analytics",
                "Firehose",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(name: "StreamEngineTests", dependencies: ["StreamEngine"]),
        .testTarget(
            name: "MetricsTests",
            dependencies: ["Metrics", "StreamEngine", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        .testTarget(name: "LoadGenTests", dependencies: ["LoadGen", "StreamEngine"]),
        .testTarget(name: "AnalyticsTests", dependencies: ["Analytics", "StreamEngine", "LoadGen"]),
        .testTarget(name: "AttachTests", dependencies: ["Attach", "StreamEngine", "LoadGen", "Metrics", "KinesisAPI"]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "Metrics", "StreamEngine"],
                    exclude: ["__Snapshots__"]),
        .testTarget(
            name: "KinesisAPITests",
            dependencies: [
                "KinesisAPI", "StreamEngine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
