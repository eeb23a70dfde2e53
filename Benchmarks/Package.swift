// swift-tools-version:6.1
import PackageDescription

// The performance harness, kept out of the main package so `swift test` never
// builds it in release mode. Run: swift run -c release --package-path Benchmarks ktop-bench
let package = Package(
    name: "ktop-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "ktop", path: "..")],
    targets: [
        .executableTarget(
            name: "ktop-bench",
            dependencies: [
                .product(name: "StreamEngine", package: "ktop"),
                .product(name: "Metrics", package: "ktop"),
                .product(name: "Dashboard", package: "ktop"),
                .product(name: "KinesisAPI", package: "ktop"),
            ]
        ),
    ]
)
