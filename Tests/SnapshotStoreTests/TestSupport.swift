import Foundation
import Raft
import TestSupport
import Testing

/// A snapshot through `index` at `term` with `count` bytes of data that depend on the index.
func snapshot(
    _ index: UInt64, term: UInt64, count: Int = 16,
    voters: [NodeID] = ["n1", "n2", "n3"]
) -> StoredSnapshot {
    StoredSnapshot(
        metadata: SnapshotMetadata(
            index: LogIndex(index), term: Term(term), configuration: ClusterConfiguration(voters: voters)),
        data: (0..<count).map { UInt8(truncatingIfNeeded: UInt64($0) &* 31 &+ index) })
}

/// The names in `directory`, sorted.
func fileNames(in directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The stored file's path for a snapshot through `index` at `term`.
func path(in store: FileSnapshotStore, _ index: UInt64, term: UInt64) -> String {
    store.directory + "/" + FileSnapshotStore.fileName(index: LogIndex(index), term: Term(term))
}

/// Expects `loadNewest()` to throw `.corrupt` naming `path`; returns the reason.
@discardableResult
func expectCorrupt(
    _ store: FileSnapshotStore, path: String, _ context: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) -> String? {
    do throws(StorageError) {
        let loaded = try store.loadNewest()
        Issue.record(
            "\(context()): expected .corrupt, loaded \(loaded.map { "\($0.metadata)" } ?? "nil")",
            sourceLocation: sourceLocation)
    } catch .corrupt(let reportedPath, let reason) {
        #expect(reportedPath == path, "\(context()): \(reason)", sourceLocation: sourceLocation)
        return reason
    } catch {
        Issue.record("\(context()): expected .corrupt, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
