// swift-tools-version:6.1
import PackageDescription

// A coverage-guided fuzzer (libFuzzer) over ktop's request path: HTTP bytes in,
// through the server's real NIO pipeline, replies checked against the wire
// contract. Its own package so the main build and `swift test` never compile
// with -sanitize=fuzzer. Build and run: Fuzz/run.sh [SECONDS] (see README.md).
let package = Package(
    name: "ktop-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ktop", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "ktop-fuzz",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "KinesisAPI", package: "ktop"),
                .product(name: "StreamEngine", package: "ktop"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Sources/KtopFuzz"
        ),
    ]
)
