import ArgumentParser
import CSQLite
import Foundation

/// Measures the storage layer on this machine's disk: the raw cost of one sync, then what the
/// Raft log store achieves with one sync per batch. Each measurement is a `BenchSection`;
/// `StorageBench.sections` lists them in the order they run.
@main
struct StorageBench: ParsableCommand {
    /// Every section, in the order `keyval-storage-bench` runs them by default. A new measurement
    /// (say, writing and restoring a snapshot of 1M keys) is one more type conforming to
    /// `BenchSection`, added here.
    static let sections: [any BenchSection] = [FsyncSection(), LogAppendSection(), SnapshotSection()]

    static let configuration = CommandConfiguration(
        commandName: "keyval-storage-bench",
        abstract: "Measure durable-write costs of keyval's storage on this machine's disk.",
        discussion: "Sections: "
            + sections.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")
            + ". Build with -c release: swift run -c release keyval-storage-bench")

    @Option(help: "Seconds each measurement runs.")
    var seconds: Double = 2

    @Option(
        help: """
            Directory to measure in (default: a temporary directory, under .build-bench/ in the \
            current directory when the system's temporary directory is in memory or on another disk).
            """)
    var directory: String?

    @Argument(help: "Sections to run, in order (default: all).")
    var sectionNames: [String] = []

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        for name in sectionNames where !Self.sections.contains(where: { $0.name == name }) {
            throw ValidationError(
                "unknown section \(name); sections: \(Self.sections.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let selected =
            sectionNames.isEmpty
            ? Self.sections
            : sectionNames.map { name in
                Self.sections.first { $0.name == name }!
            }
        let scratch = try ScratchDirectory(requested: directory)
        defer { scratch.remove() }
        print("keyval-storage-bench: \(scratch.path)")
        print("  filesystem \(scratch.filesystem), \(scratch.reason)")
        print(
            "  SQLite \(String(cString: sqlite3_libversion())), \(Self.buildConfiguration), \(seconds) s per measurement"
        )
        let context = BenchContext(scratch: scratch, seconds: seconds)
        for section in selected {
            print("")
            try section.run(context)
        }
    }

    static var buildConfiguration: String {
        #if DEBUG
            "debug build (not representative: use -c release)"
        #else
            "release build"
        #endif
    }
}

/// One measurement of `keyval-storage-bench`, run by name.
protocol BenchSection: Sendable {
    /// Its name on the command line.
    var name: String { get }
    /// One line for `--help`.
    var summary: String { get }
    /// Runs the measurement in its own directory from `context.directory(for:)` and prints a
    /// titled table.
    func run(_ context: BenchContext) throws
}

/// What the sections share: where to write, how long to measure, and earlier results that later
/// sections express their costs in.
final class BenchContext {
    let scratch: ScratchDirectory
    /// How long each measurement runs.
    let seconds: Double
    /// Median cost of one 4 KiB write + fsync, once `FsyncSection` has run (µs). The median,
    /// because a shared disk's occasional multi-millisecond stalls swamp the mean.
    var fsyncMedianMicroseconds: Double?

    init(scratch: ScratchDirectory, seconds: Double) {
        self.scratch = scratch
        self.seconds = seconds
    }

    /// A fresh, empty directory for one measurement.
    func directory(for name: String) throws -> String {
        let path = scratch.path + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
