import Foundation
import Raft
import TestSupport
import Testing

/// What only the SQLite store can get wrong: damaged, foreign, missing or shared files. Each must
/// be refused with an error naming the file, never a crash and never an empty start.
@Suite("SQLiteLogStore files")
struct SQLiteLogStoreTests {
    /// Writes a closed database of 2,000 entries of 128 bytes (about 80 pages of 4 KiB), with
    /// everything in `raft.db` (no WAL left over).
    func writeDatabase(in directory: String) throws -> String {
        do {
            let store = try SQLiteLogStore(directory: directory)
            let written = entries(1...2_000, term: 7).map { entry in
                var entry = entry
                entry.data = [UInt8](repeating: UInt8(truncatingIfNeeded: entry.index.value), count: 128)
                return entry
            }
            try store.persist(hardState: HardState(term: Term(7), vote: "n1"), entries: written)
            try store.compact(through: LogIndex(10))
            while try store.reclaimSpace(maxBytes: 1 << 20) {}
        }
        let path = directory + "/raft.db"
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "closing should checkpoint the WAL")
        return path
    }

    /// Opens the directory expecting `.corrupt` naming `raft.db`; returns the reason.
    func expectCorrupt(_ directory: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        let error = #expect(throws: StorageError.self, sourceLocation: sourceLocation) {
            _ = try SQLiteLogStore(directory: directory).load()
        }
        #expect(
            error?.path == directory + "/raft.db", "\(String(describing: error))",
            sourceLocation: sourceLocation)
        #expect(error?.corruptReason != nil, "\(String(describing: error))", sourceLocation: sourceLocation)
        return error?.corruptReason
    }

    @Test("a data directory of another format version is refused, naming the file and both versions")
    func otherFormatVersion() throws {
        try withTemporaryDirectory { directory in
            let path = try writeDatabase(in: directory)
            try executeRawSQL("UPDATE meta SET value = 2 WHERE key = 'format_version'", on: path)
            let reason = expectCorrupt(directory)
            #expect(reason?.contains("format version 2") == true, "\(reason ?? "")")
            #expect(reason?.contains("format version 1") == true, "\(reason ?? "")")
        }
    }

    /// Lengths to truncate to; negative ones count from the end (-4096: lose only the last page).
    @Test(
        "a truncated raft.db is refused as corrupt",
        arguments: [1, 50, 100, 1_000, 4_096, 8_192, 100_000, -4_096, -1])
    func truncatedFile(_ length: Int) throws {
        try withTemporaryDirectory { directory in
            let path = try writeDatabase(in: directory)
            let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            let newLength = length < 0 ? size + length : length
            #expect(newLength < size)
            #expect(truncate(path, off_t(newLength)) == 0)
            _ = expectCorrupt(directory)
        }
    }

    @Test("an empty raft.db is refused rather than started empty")
    func emptyFile() throws {
        try withTemporaryDirectory { directory in
            let path = try writeDatabase(in: directory)
            #expect(truncate(path, 0) == 0)
            let reason = expectCorrupt(directory)
            #expect(reason?.contains("empty") == true, "\(reason ?? "")")
        }
    }

    @Test("garbage bytes in raft.db are refused as corrupt", arguments: [100, 4_096, 300_000])
    func garbageFile(_ length: Int) throws {
        try withTemporaryDirectory { directory in
            var generator = SplitMix64(seed: UInt64(length))
            try writeFile(
                directory + "/raft.db", (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            )
            _ = expectCorrupt(directory)
        }
    }

    @Test("a damaged page in the middle of raft.db is refused as corrupt", arguments: [1, 2, 20, 40])
    func damagedPage(_ page: UInt64) throws {
        try withTemporaryDirectory { directory in
            let path = try writeDatabase(in: directory)
            let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(page * 4_096 < size)
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.seek(toOffset: page * 4_096)
            try handle.write(contentsOf: Data(repeating: 0x5A, count: 4_096))
            try handle.close()
            _ = expectCorrupt(directory)
        }
    }

    @Test("another SQLite database named raft.db is refused")
    func foreignDatabase() throws {
        try withTemporaryDirectory { directory in
            try executeRawSQL(
                "CREATE TABLE t (x); INSERT INTO t VALUES (1);", on: directory + "/raft.db", create: true)
            let reason = expectCorrupt(directory)
            #expect(reason?.contains("not a keyval Raft log") == true, "\(reason ?? "")")
        }
    }

    @Test("a missing data directory is reported, naming it")
    func missingDirectory() throws {
        try withTemporaryDirectory { directory in
            let missing = directory + "/no-such-dir"
            let error = #expect(throws: StorageError.self) { _ = try SQLiteLogStore(directory: missing) }
            guard case .io(let path, _, let reason)? = error else {
                Issue.record("expected .io, got \(String(describing: error))")
                return
            }
            #expect(path == missing)
            #expect(reason.contains("No such file or directory"), "\(reason)")
            #expect(
                !FileManager.default.fileExists(atPath: missing), "the store must not create its directory")
        }
    }

    @Test("a data directory that is a file is reported, naming it")
    func directoryIsAFile() throws {
        try withTemporaryDirectory { directory in
            let file = directory + "/file"
            try writeFile(file, [1, 2, 3])
            let error = #expect(throws: StorageError.self) { _ = try SQLiteLogStore(directory: file) }
            #expect(error?.path == file)
            #expect(
                error.map { "\($0)" }?.contains("not a directory") == true, "\(String(describing: error))")
        }
    }

    @Test("a raft.db-wal without its raft.db is refused rather than started empty")
    func walWithoutDatabase() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/raft.db-wal", [UInt8](repeating: 7, count: 4_128))
            let reason = expectCorrupt(directory)
            #expect(reason?.contains("raft.db-wal") == true, "\(reason ?? "")")
            #expect(!FileManager.default.fileExists(atPath: directory + "/raft.db"))
        }
    }

    @Test("leftovers of an interrupted first start are cleared, and the store starts empty")
    func interruptedCreation() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/raft.db.init", [UInt8](repeating: 1, count: 10_000))
            try writeFile(directory + "/raft.db.init-journal", [UInt8](repeating: 2, count: 600))
            try writeFile(directory + "/raft.db-wal", [])
            #expect(try SQLiteLogStore(directory: directory).load() == PersistedLog())
            #expect(!FileManager.default.fileExists(atPath: directory + "/raft.db.init"))
        }
    }

    @Test("a second store on an open data directory is refused")
    func secondStoreRefused() throws {
        try withTemporaryDirectory { directory in
            var first: SQLiteLogStore? = try SQLiteLogStore(directory: directory)
            try first?.persist(hardState: HardState(term: Term(1)), entries: entries(1...3, term: 1))
            let error = #expect(throws: StorageError.self) {
                _ = try SQLiteLogStore(directory: directory).load()
            }
            guard case .io(let path, _, let reason)? = error else {
                Issue.record("expected .io, got \(String(describing: error))")
                return
            }
            #expect(path == directory + "/raft.db")
            #expect(reason.contains("SQLITE_BUSY"), "\(reason)")
            first = nil
            #expect(try SQLiteLogStore(directory: directory).load().entries == entries(1...3, term: 1))
        }
    }

    @Test("raft.db is in WAL mode and carries the keyval application id")
    func fileHeader() throws {
        try withTemporaryDirectory { directory in
            let path = try writeDatabase(in: directory)
            let header = try #require(FileManager.default.contents(atPath: path)).prefix(100)
            #expect(Array(header.prefix(16)) == Array("SQLite format 3\0".utf8))
            #expect(header[18] == 2 && header[19] == 2, "read and write versions 2 mean WAL")
            #expect(Array(header[68..<72]) == [0x4B, 0x56, 0x52, 0x46], "application_id \"KVRF\"")
        }
    }

    /// Damage a valid file's rows behind the store's back: each is refused by `load`, naming the
    /// file, with a reason a human can act on. (A compaction point moved forward over stored rows
    /// is not among them: rows at or below the point are compacted entries not yet reclaimed, by
    /// design; `RecoveredState` refuses a point past the newest snapshot.)
    struct Damage: Sendable, CustomTestStringConvertible {
        var name: String
        var sql: String
        var reason: String
        var testDescription: String { name }

        static let all: [Damage] = [
            Damage(
                name: "unknown entry kind", sql: "UPDATE log SET kind = 9 WHERE idx = 500",
                reason: "unknown kind 9"),
            Damage(
                name: "a hole in the log", sql: "DELETE FROM log WHERE idx = 500", reason: "not contiguous"),
            Damage(
                name: "the log starts after compacted_through + 1",
                sql: "UPDATE meta SET value = 5 WHERE key = 'compacted_through'", reason: "expected i6"),
            Damage(
                name: "terms decrease", sql: "UPDATE log SET term = 1 WHERE idx = 1500",
                reason: "terms decrease"),
            Damage(
                name: "no hard state", sql: "DELETE FROM hard_state", reason: "hard_state table has no row"),
            Damage(name: "no log table", sql: "DROP TABLE log", reason: "no log table"),
            Damage(
                name: "no compaction point", sql: "DELETE FROM meta WHERE key = 'compacted_through'",
                reason: "compacted_through"),
        ]
    }

    @Test("damaged rows are refused as corrupt with a clear reason", arguments: Damage.all)
    func damagedRows(_ damage: Damage) throws {
        try withTemporaryDirectory { directory in
            let path = try writeDatabase(in: directory)
            try executeRawSQL(damage.sql, on: path)
            let reason = expectCorrupt(directory)
            #expect(reason?.contains(damage.reason) == true, "\(reason ?? "")")
        }
    }
}
