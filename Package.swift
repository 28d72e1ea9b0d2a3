// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "swift-prwlock",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PRWLock", targets: ["PRWLock"]),
        .executable(name: "prwlock", targets: ["prwlock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // What Swift cannot call directly: futex(2) through syscall(2), fcntl(2) with a struct,
        // memfd_create, pthread_atfork, and the atomics used on words inside the mapping.
        .target(
            name: "CPRWLockShim",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(
            name: "PRWLock",
            dependencies: ["CPRWLockShim", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "prwlock",
            dependencies: [
                "PRWLock",
                "CPRWLockShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A worker process for the multi-process tests: each mode is one role in a scenario.
        .executableTarget(
            name: "prwlock-test-worker",
            dependencies: ["PRWLock", "CPRWLockShim"]
        ),
        .testTarget(
            name: "PRWLockTests",
            dependencies: ["PRWLock", "prwlock-test-worker", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
