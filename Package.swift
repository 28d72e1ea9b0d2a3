// swift-tools-version: 6.1
import PackageDescription

/// postgres-nio (and NIOSSL, for `sslmode=`), linked only when the trait `PostgreSQL` is enabled.
let postgresNIO: Target.Dependency = .product(
    name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["PostgreSQL"])
)
let nioSSL: Target.Dependency = .product(
    name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["PostgreSQL"])
)

let package = Package(
    name: "swift-prwlock",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PRWLock", targets: ["PRWLock"]),
        // The same lock API on PostgreSQL advisory locks, for processes on several machines.
        // Its code and its dependency on postgres-nio exist only with the trait `PostgreSQL`, so
        // PRWLock alone never builds (or links) a database client.
        .library(name: "PRWLockPostgres", targets: ["PRWLockPostgres"]),
        .executable(name: "prwlock", targets: ["prwlock"]),
        // libprwlock, the C interface (prwlock.h) for every other language. `c/build` makes the
        // installable, self-contained libprwlock.so from it (Swift runtime linked in statically).
        .library(name: "prwlock-c", type: .dynamic, targets: ["PRWLockC"]),
    ],
    traits: [
        .trait(
            name: "PostgreSQL",
            description: "Builds PRWLockPostgres (PostgresRWLock, on PostgreSQL advisory locks) with vapor/postgres-nio."
        ),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),  // LogEvent, which the tests' handler implements
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
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
        // The C interface: prwlock.h and its error texts in C (CPRWLock), the functions in Swift
        // over RWLock (PRWLockC). The protocol itself stays in PRWLock alone.
        .target(name: "CPRWLock"),
        .target(
            name: "PRWLockC",
            dependencies: ["PRWLock", "CPRWLock"]
        ),
        .target(
            name: "PRWLockPostgres",
            dependencies: ["PRWLock", postgresNIO, nioSSL, .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "prwlock",
            dependencies: [
                "PRWLock",
                "PRWLockPostgres",
                "CPRWLockShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A worker process for the multi-process tests: each mode is one role in a scenario.
        .executableTarget(
            name: "prwlock-test-worker",
            dependencies: ["PRWLock", "PRWLockPostgres", "CPRWLockShim"]
        ),
        .testTarget(
            name: "PRWLockTests",
            dependencies: [
                "PRWLock", "PRWLockPostgres", "prwlock-test-worker", postgresNIO,
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
