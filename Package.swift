// swift-tools-version: 6.1
import PackageDescription

// Layout: every target lives in Sources/<target> (tests in Tests/<target>); docs/design.md has the
// picture.
//   RaftCore        the deterministic Raft algorithm: standard library only, no I/O, no clock.
//   Raft            the shell around it (node loop, storage, transport); re-exports RaftCore.
//   KeyVal          the key-value state machine (commands, store, client sessions).
//   KeyValClient    the HTTP/1.1 client, the API's wire types and the session that follows a cluster.
//   KeyValHTTP      the HTTP API on Hummingbird, with forwarding to the leader.
//   KeyValCLI       the command-line client's REPL, commands and line editor.
//   KeyValBench     the load tool's workloads, reports and checks.
//   keyvald, keyval, keyval-bench, raft-sim: thin executables over the libraries above.
//   Linearizability a Wing & Gong / Porcupine-style linearizability checker.
//   RaftSimulation  seeded whole-cluster simulation of RaftCore (and the real KeyVal store) with faults;
//                   `raft-sim` runs sweeps.
let package = Package(
    name: "keyval",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Raft", targets: ["Raft"]),
        .library(name: "KeyVal", targets: ["KeyVal"]),
        .executable(name: "keyvald", targets: ["keyvald"]),
        .executable(name: "keyval", targets: ["keyval"]),
        .executable(name: "raft-sim", targets: ["raft-sim"]),
        .executable(name: "keyval-bench", targets: ["keyval-bench"]),
        .executable(name: "raft-core-bench", targets: ["raft-core-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        // Without its default traits: swift-configuration and full Foundation are not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
    ],
    targets: [
        .target(name: "RaftCore"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "Raft",
            dependencies: [
                "RaftCore", "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Standard library only (over RaftCore), so the simulation runs the real store.
        .target(name: "KeyVal", dependencies: ["RaftCore"]),
        // The HTTP/1.1 client (keep-alive, timeouts) and the API's wire types: used for joining and
        // forwarding, and by the command-line client. NIO only, so the CLI stays small.
        .target(
            name: "KeyValClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // The HTTP API (Hummingbird): routes, JSON, errors, forwarding to the leader.
        .target(
            name: "KeyValHTTP",
            dependencies: [
                "KeyVal", "KeyValClient", "Raft",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The command-line client's REPL, commands and line editor; `keyval` is its thin main.
        .target(
            name: "KeyValCLI",
            dependencies: [
                "KeyValClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .executableTarget(name: "keyval", dependencies: ["KeyValCLI"]),
        .executableTarget(
            name: "keyvald",
            dependencies: [
                "KeyVal", "KeyValHTTP", "KeyValClient", "Raft",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "Linearizability"),
        .target(name: "RaftSimulation", dependencies: ["RaftCore", "KeyVal", "Linearizability"]),
        .executableTarget(
            name: "raft-sim",
            dependencies: [
                "RaftSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The Raft algorithm alone: three cores in one thread, no disk, no network.
        .executableTarget(
            name: "raft-core-bench",
            dependencies: ["RaftCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The crash-torture children that RaftStorageTests and RaftNodeTests run and SIGKILL, and
        // what they share (line output, failing, exiting when orphaned).
        .target(name: "TortureChild"),
        .executableTarget(name: "storage-torture", dependencies: ["Raft", "TortureChild"]),
        .executableTarget(name: "node-torture", dependencies: ["Raft", "TortureChild"]),
        .executableTarget(
            name: "keyval-storage-bench",
            dependencies: [
                "Raft", "CSQLite", "KeyVal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The load tool: flags, workloads, reporting and the counter check in KeyValBench (tested in
        // KeyValBenchTests); `keyval-bench` is its thin main.
        .target(
            name: "KeyValBench",
            dependencies: [
                "KeyValClient", "RaftCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        .executableTarget(name: "keyval-bench", dependencies: ["KeyValBench"]),
        // Depends on node-torture so that building the tests builds the child they spawn.
        .testTarget(
            name: "RaftNodeTests",
            dependencies: [
                "Raft", "node-torture", "TestSupport", .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(name: "RaftTests", dependencies: ["RaftCore"]),
        .testTarget(
            name: "RaftSimulationTests",
            dependencies: ["RaftSimulation", "RaftCore", "KeyVal", "Linearizability"]),
        .testTarget(name: "LinearizabilityTests", dependencies: ["Linearizability"]),
        .testTarget(name: "KeyValTests", dependencies: ["KeyVal", "Raft"]),
        .testTarget(name: "KeyValBenchTests", dependencies: ["KeyValBench", "KeyValClient", "RaftCore"]),
        .testTarget(
            name: "KeyValClientTests",
            dependencies: [
                "KeyValClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(name: "KeyValCLITests", dependencies: ["KeyValCLI", "KeyValClient"]),
        .testTarget(
            name: "KeyValHTTPTests",
            dependencies: [
                "KeyValHTTP", "KeyValClient", "KeyVal", "Raft",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
        .testTarget(name: "SnapshotStoreTests", dependencies: ["Raft", "TestSupport"]),
        .testTarget(
            name: "RaftTransportTests",
            dependencies: [
                "Raft", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers shared by test targets: temporary directories, waiting for a condition, a list
        // state machine for node tests; spawning, signalling and locating the package's
        // executables for process-level tests.
        .target(name: "TestSupport", dependencies: ["Raft"], path: "Tests/TestSupport"),
        // Real keyvald processes; depends on keyvald so that building the tests builds it.
        .testTarget(
            name: "KeyvaldTests",
            dependencies: [
                "KeyValClient", "TestSupport", "Linearizability", "keyvald", "keyval", "keyval-bench",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // Depends on storage-torture so that building the tests builds the child they spawn.
        .testTarget(
            name: "RaftStorageTests", dependencies: ["Raft", "CSQLite", "storage-torture", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
