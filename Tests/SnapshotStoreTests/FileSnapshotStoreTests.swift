import Foundation
import Raft
import TestSupport
import Testing

/// What `FileSnapshotStore` keeps: round trips, retention, leftovers of a crashed save, and
/// what it refuses to store.
@Suite("FileSnapshotStore")
struct FileSnapshotStoreTests {
    struct RoundTrip: Sendable, CustomTestStringConvertible {
        var name: String
        var snapshot: StoredSnapshot
        var testDescription: String { name }
    }

    @Test(
        "a saved snapshot loads back exactly, from the same store and from a reopened one",
        arguments: [
            RoundTrip(
                name: "five voters, 10 kB",
                snapshot: snapshot(
                    41, term: 7, count: 10_000, voters: ["n5", "n1", "node-three", "n2", "n4"])),
            RoundTrip(
                name: "non-ASCII and empty names",
                snapshot: snapshot(3, term: 1, voters: ["nœud-ü", "节点", ""])),
            RoundTrip(name: "no data, no voters", snapshot: snapshot(1, term: 1, count: 0, voters: [])),
            RoundTrip(
                name: "largest index and term",
                snapshot: snapshot(UInt64.max, term: UInt64.max, count: 3)),
        ])
    func roundTrip(_ example: RoundTrip) throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            try store.save(example.snapshot)
            #expect(try store.loadNewest() == example.snapshot)
            #expect(try FileSnapshotStore(directory: dataDirectory).loadNewest() == example.snapshot)
            let metadata = example.snapshot.metadata
            #expect(
                try fileNames(in: store.directory)
                    == [FileSnapshotStore.fileName(index: metadata.index, term: metadata.term)])
        }
    }

    @Test("file names sort like (index, term): 20 zero-padded digits each")
    func fileNamesSortByIndexThenTerm() {
        #expect(
            FileSnapshotStore.fileName(index: LogIndex(42), term: Term(3))
                == "snapshot-00000000000000000042-00000000000000000003.snap")
        #expect(
            FileSnapshotStore.fileName(index: LogIndex(9), term: Term(100))
                < FileSnapshotStore.fileName(index: LogIndex(10), term: Term(1)))
    }

    @Test("a new data directory gets an empty snapshots directory, which loads as nil")
    func emptyDirectory() throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory + "/")
            #expect(store.directory == dataDirectory + "/snapshots")
            #expect(try store.loadNewest() == nil)
            #expect(try fileNames(in: store.directory) == [])
            #expect(try FileSnapshotStore(directory: dataDirectory).loadNewest() == nil)
        }
    }

    @Test("a missing data directory is refused, not created")
    func missingDataDirectory() throws {
        try withTemporaryDirectory { root in
            #expect {
                try FileSnapshotStore(directory: root + "/absent")
            } throws: { error in
                guard case .io(let path, _, _) = error as? StorageError else { return false }
                return path == root + "/absent"
            }
            #expect(!FileManager.default.fileExists(atPath: root + "/absent"))
        }
    }

    @Test("after five saves only the newest two files remain, and the newest loads")
    func keepsNewestTwo() throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            let saved = (1...5).map { snapshot(UInt64($0) * 10, term: UInt64($0)) }
            for (count, item) in saved.enumerated() {
                try store.save(item)
                #expect(try fileNames(in: store.directory).count == min(count + 1, 2))
                #expect(try store.loadNewest() == item)
            }
            #expect(
                try fileNames(in: store.directory) == [
                    FileSnapshotStore.fileName(index: LogIndex(40), term: Term(4)),
                    FileSnapshotStore.fileName(index: LogIndex(50), term: Term(5)),
                ])
        }
    }

    @Test("a leftover .tmp file is ignored by loads and removed when the store opens")
    func leftoverTemporaryFile() throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            let kept = snapshot(5, term: 2)
            try store.save(kept)
            // A save of a newer snapshot that crashed before its rename: half a file.
            let temporary = path(in: store, 9, term: 3) + ".tmp"
            try writeFile(temporary, Array(try readFile(path(in: store, 5, term: 2)).prefix(40)))

            #expect(try store.loadNewest() == kept)
            let reopened = try FileSnapshotStore(directory: dataDirectory)
            #expect(!FileManager.default.fileExists(atPath: temporary))
            #expect(
                try fileNames(in: store.directory) == [
                    FileSnapshotStore.fileName(index: LogIndex(5), term: Term(2))
                ])
            #expect(try reopened.loadNewest() == kept)
        }
    }

    @Test("a leftover .tmp file alone is no snapshot")
    func temporaryFileAlone() throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            try writeFile(path(in: store, 9, term: 3) + ".tmp", [1, 2, 3])
            #expect(try store.loadNewest() == nil)
            #expect(try fileNames(in: try FileSnapshotStore(directory: dataDirectory).directory) == [])
        }
    }

    @Test("files whose names are not snapshot names are left alone and never loaded")
    func foreignFiles() throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            let foreign = [
                "README", "snapshot-9-9.snap", "snapshot-99999999999999999999-00000000000000000001.snap",
                FileSnapshotStore.fileName(index: LogIndex(99), term: Term(1)) + ".bak",
            ]
            for name in foreign { try writeFile(store.directory + "/" + name, [0xFF]) }
            #expect(try store.loadNewest() == nil)
            let saved = snapshot(4, term: 1)
            for index in 1...4 { try store.save(snapshot(UInt64(index), term: 1)) }
            #expect(try store.loadNewest() == saved)
            _ = try FileSnapshotStore(directory: dataDirectory)
            #expect(
                try fileNames(in: store.directory)
                    == (foreign + [
                        FileSnapshotStore.fileName(index: LogIndex(3), term: Term(1)),
                        FileSnapshotStore.fileName(index: LogIndex(4), term: Term(1)),
                    ]).sorted())
        }
    }

    @Test("saving the newest snapshot again replaces it")
    func saveSameSnapshotAgain() throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            try store.save(snapshot(5, term: 2))
            var replacement = snapshot(5, term: 2, count: 100)
            replacement.data[0] = 0xAB
            try store.save(replacement)
            #expect(try store.loadNewest() == replacement)
            #expect(try fileNames(in: store.directory).count == 1)
        }
    }

    @Test(
        "a snapshot older than the newest stored one is refused and changes nothing",
        arguments: [(index: UInt64(7), term: UInt64(3)), (index: 10, term: 1), (index: 10, term: 4)])
    func olderSnapshotRefused(_ older: (index: UInt64, term: UInt64)) throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            let newest = snapshot(10, term: 3)
            try store.save(snapshot(8, term: 3))
            try store.save(newest)
            let before = try fileNames(in: store.directory)
            #expect {
                try store.save(snapshot(older.index, term: older.term))
            } throws: { error in
                guard case .invalidArgument = error as? StorageError else { return false }
                return true
            }
            #expect(try fileNames(in: store.directory) == before)
            #expect(try store.loadNewest() == newest)
        }
    }

    @Test("after a failed save every call throws that error, until the store is reopened")
    func failedSaveIsSticky() throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            let kept = snapshot(5, term: 2)
            try store.save(kept)
            // A directory where the temporary file should go: creating the file fails, even as root.
            let temporary = path(in: store, 9, term: 2) + ".tmp"
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            var failure: StorageError?
            do throws(StorageError) {
                try store.save(snapshot(9, term: 2))
            } catch {
                failure = error
            }
            guard let failure, case .io(let failedPath, _, _) = failure else {
                Issue.record("expected .io, got \(String(describing: failure))")
                return
            }
            #expect(failedPath == temporary)
            #expect(throws: failure) { try store.loadNewest() }
            #expect(throws: failure) { try store.save(snapshot(10, term: 2)) }

            try FileManager.default.removeItem(atPath: temporary)
            #expect(try FileSnapshotStore(directory: dataDirectory).loadNewest() == kept)
        }
    }
}
