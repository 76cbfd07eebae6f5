import Foundation
import KeyVal
import Raft

/// Writing and restoring a snapshot of a `KVStore` with 1M keys, phase by phase: encode
/// (`KVStore.snapshot()`), save (`FileSnapshotStore.save`: write, fsync, rename, fsync the
/// directory), load (`loadNewest()`: read and verify both CRCs) and decode (`KVStore(snapshot:)`).
/// The requirement: write (encode + save) and restore (load + decode) each under 2 s.
///
/// The store is filled once, through `.set` commands applied in memory (that time is reported
/// apart), then each cycle writes the snapshot into a fresh directory and restores it, and the
/// restored store is checked equal to the original (untimed).
struct SnapshotSection: BenchSection {
    let name = "snapshot"
    let summary =
        "a KVStore of 1,000,000 keys with 32-byte values: snapshot encode + save (write), load + decode (restore)"
    static let keyCount = 1_000_000
    static let valueBytes = 32
    static let keysPerCommand = 1_000
    static let cycles = 3
    static let limit: Duration = .seconds(2)

    func run(_ context: BenchContext) throws {
        print(
            "== snapshot: KVStore with \(Self.keyCount) keys (\"key-%07d\", \(Self.valueBytes)-byte values), \(Self.cycles) write/restore cycles"
        )
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            // Encoding and decoding are CPU-bound: other work on the machine shows in them.
            print("  load average at start: \(load.split(separator: " ").prefix(3).joined(separator: " "))")
        }
        let clock = ContinuousClock()
        let (store, apply) = try Self.buildStore(clock: clock)
        print(
            "  apply: \(Self.keyCount / Self.keysPerCommand) set commands of \(Self.keysPerCommand) keys, in memory: \(fixedSeconds(apply)) s (not part of the snapshot figures)"
        )

        var cycles: [Cycle] = []
        var bytes = 0
        for number in 0..<Self.cycles {
            let directory = try context.directory(for: "\(name)-\(number)")
            let (cycle, size) = try Self.writeAndRestore(store, in: directory, clock: clock)
            cycles.append(cycle)
            bytes = size
        }

        let megabytes = Double(bytes) / 1e6
        print(
            "  snapshot: \(bytes) bytes (\(fixed(megabytes, 1)) MB), \(fixed(Double(bytes) / Double(Self.keyCount), 1)) bytes/key"
        )
        var table = Table("phase", "median s", "max s", "MB/s (median)")
        func add(_ label: String, _ phase: (Cycle) -> Duration) {
            let times = cycles.map(phase).sorted()
            let median = times[times.count / 2]
            table.add(
                label, fixedSeconds(median), fixedSeconds(times.last!), fixed(megabytes / median.seconds))
        }
        add("encode   KVStore.snapshot()", \.encode)
        add("save     FileSnapshotStore.save (write, fsync, rename, fsync dir)", \.save)
        add("load     loadNewest, cold: file evicted from the page cache (read, CRC)", \.loadCold)
        add("load     loadNewest, warm: file in the page cache (read, CRC)", \.loadWarm)
        add("decode   KVStore(snapshot:)", \.decode)
        add("write    = encode + save", \.write)
        add("restore  = load (cold) + decode", \.restore)
        table.print()

        let worstWrite = cycles.map(\.write).max()!
        let worstRestore = cycles.map(\.restore).max()!
        print(
            "  requirement (1M keys, under \(fixedSeconds(Self.limit)) s each, slowest of \(Self.cycles) cycles): write \(fixedSeconds(worstWrite)) s \(worstWrite < Self.limit ? "ok" : "TOO SLOW"), restore \(fixedSeconds(worstRestore)) s \(worstRestore < Self.limit ? "ok" : "TOO SLOW")"
        )
        print(
            "  cold load: the file's pages are dropped with posix_fadvise(DONTNEED) after the save (Linux); where that is unavailable it is the warm figure"
        )
    }

    /// One write/restore cycle's phase times.
    struct Cycle {
        var encode, save, loadCold, loadWarm, decode: Duration
        var write: Duration { encode + save }
        var restore: Duration { loadCold + decode }
    }

    /// The store with every key, and how long applying the commands took.
    static func buildStore(clock: ContinuousClock) throws -> (KVStore, Duration) {
        let filler = String(repeating: "x", count: valueBytes)
        var commands: [KVCommand] = []
        commands.reserveCapacity(keyCount / keysPerCommand)
        for first in stride(from: 0, to: keyCount, by: keysPerCommand) {
            var pairs: [String: String] = [:]
            pairs.reserveCapacity(keysPerCommand)
            for number in first..<min(first + keysPerCommand, keyCount) {
                let digits = String(number)
                let padded = String(repeating: "0", count: max(0, 7 - digits.count)) + digits
                let value = "value-" + padded + "-"
                pairs["key-" + padded] = value + filler.prefix(valueBytes - value.utf8.count)
            }
            commands.append(.set(pairs))
        }
        var store = KVStore()
        let started = clock.now
        for (position, command) in commands.enumerated() {
            guard case .set = store.apply(command, at: LogIndex(UInt64(position + 1))) else {
                throw BenchError("command \(position + 1) was not applied as a set")
            }
        }
        let apply = clock.now - started
        guard store.count == keyCount else { throw BenchError("the store has \(store.count) keys") }
        return (store, apply)
    }

    /// Encodes and saves a snapshot of `store` in `directory`, then loads and decodes it.
    static func writeAndRestore(_ store: KVStore, in directory: String, clock: ContinuousClock) throws
        -> (Cycle, bytes: Int)
    {
        var started = clock.now
        let data = store.snapshot()
        let encode = clock.now - started

        let snapshots = try FileSnapshotStore(directory: directory)
        let metadata = SnapshotMetadata(
            index: store.appliedIndex, term: Term(1), configuration: ClusterConfiguration(voters: ["n1"]))
        started = clock.now
        try snapshots.save(StoredSnapshot(metadata: metadata, data: data))
        let save = clock.now - started

        try evictFromPageCache(
            snapshots.directory + "/" + FileSnapshotStore.fileName(index: metadata.index, term: metadata.term)
        )
        started = clock.now
        guard let loaded = try FileSnapshotStore(directory: directory).loadNewest() else {
            throw BenchError("no snapshot in \(directory) after saving one")
        }
        let loadCold = clock.now - started
        started = clock.now
        _ = try FileSnapshotStore(directory: directory).loadNewest()
        let loadWarm = clock.now - started

        started = clock.now
        let restored = try KVStore(snapshot: loaded.data)
        let decode = clock.now - started
        guard loaded.data == data, restored == store else {
            throw BenchError("the restored snapshot differs from the one written")
        }
        return (
            Cycle(encode: encode, save: save, loadCold: loadCold, loadWarm: loadWarm, decode: decode),
            data.count
        )
    }

    /// Drops the file's cached pages (clean after the save's fsync), so the next read comes from the
    /// disk, as after a reboot.
    static func evictFromPageCache(_ path: String) throws {
        #if canImport(Glibc)
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw BenchError("open \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            let result = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
            guard result == 0 else {
                throw BenchError("posix_fadvise \(path): \(String(cString: strerror(result)))")
            }
        #endif
    }
}

extension Duration {
    var seconds: Double { microseconds / 1e6 }
}

/// `duration` in seconds with three decimals.
func fixedSeconds(_ duration: Duration) -> String { fixed(duration.seconds, 3) }
