// swift-tools-version: 6.1
import PackageDescription

// Layout (see docs/design.md):
//   RaftCore        the deterministic Raft algorithm: standard library only, no I/O, no clock.
//   Raft            the shell around it (storage, transport, node actor); re-exports RaftCore.
//   KeyVal          the key-value state machine, HTTP API and client library.
//   keyvald         the daemon.
//   Linearizability a Wing & Gong / Porcupine-style linearizability checker.
//   RaftSimulation  seeded whole-cluster simulation of RaftCore with faults; `raft-sim` runs sweeps.
let package = Package(
    name: "keyval",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Raft", targets: ["Raft"]),
        .library(name: "KeyVal", targets: ["KeyVal"]),
        .executable(name: "keyvald", targets: ["keyvald"]),
        .executable(name: "raft-sim", targets: ["raft-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    ],
    targets: [
        .target(name: "RaftCore", path: "Sources/Raft/Core"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "Raft",
            dependencies: [
                "RaftCore", "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Raft", exclude: ["Core"]),
        .target(name: "KeyVal", dependencies: ["Raft"]),
        .executableTarget(
            name: "keyvald",
            dependencies: [
                "KeyVal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "Linearizability"),
        .target(name: "RaftSimulation", dependencies: ["RaftCore", "Linearizability"]),
        .executableTarget(
            name: "raft-sim",
            dependencies: [
                "RaftSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The crash-torture child that RaftStorageTests runs and SIGKILLs.
        .executableTarget(name: "storage-torture", dependencies: ["Raft"]),
        // The node crash-torture child that RaftNodeTests runs and SIGKILLs.
        .executableTarget(name: "node-torture", dependencies: ["Raft"]),
        .executableTarget(
            name: "keyval-storage-bench",
            dependencies: [
                "Raft", "CSQLite", "KeyVal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Depends on node-torture so that building the tests builds the child they spawn.
        .testTarget(name: "RaftNodeTests", dependencies: ["Raft", "node-torture"]),
        .testTarget(name: "RaftTests", dependencies: ["RaftCore"]),
        .testTarget(name: "RaftSimulationTests", dependencies: ["RaftSimulation", "RaftCore"]),
        .testTarget(name: "LinearizabilityTests", dependencies: ["Linearizability"]),
        .testTarget(name: "KeyValTests", dependencies: ["KeyVal"]),
        .testTarget(name: "SnapshotStoreTests", dependencies: ["Raft"]),
        .testTarget(
            name: "RaftTransportTests",
            dependencies: [
                "Raft",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Depends on storage-torture so that building the tests builds the child they spawn.
        .testTarget(name: "RaftStorageTests", dependencies: ["Raft", "CSQLite", "storage-torture"]),
    ],
    swiftLanguageModes: [.v6]
)
