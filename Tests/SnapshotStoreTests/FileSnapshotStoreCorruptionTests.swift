import Foundation
import Raft
import TestSupport
import Testing

/// Damage to the newest snapshot file: every kind must make `loadNewest()` throw `.corrupt`
/// naming that file, never return other data and never fall back to an older file.
@Suite("FileSnapshotStore corruption")
struct FileSnapshotStoreCorruptionTests {
    /// Saves `saved` after an older snapshot, so a load that wrongly fell back would have
    /// something to return, and passes the store and the newest file's path and bytes.
    static func withSavedSnapshot(
        _ saved: StoredSnapshot, _ body: (FileSnapshotStore, String, [UInt8]) throws -> Void
    ) throws {
        try withTemporaryDirectory { dataDirectory in
            let store = try FileSnapshotStore(directory: dataDirectory)
            try store.save(snapshot(1, term: 1))
            try store.save(saved)
            let file = path(in: store, saved.metadata.index.value, term: saved.metadata.term.value)
            try body(store, file, try readFile(file))
        }
    }

    /// The header's length in a version-1 file: fixed fields, the configuration block, the data
    /// length and the header checksum.
    static func headerCount(_ bytes: [UInt8]) -> Int {
        let configurationCount = (0..<4).reduce(0) { $0 | Int(bytes[26 + $1]) << (8 * $1) }
        return 30 + configurationCount + 8 + 4
    }

    @Test("the small snapshot's file is laid out as documented")
    func layout() throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2, count: 16)) { _, _, bytes in
            // Configuration: encoding version, count, and three voters, each a flags byte and
            // three u16-prefixed fields: a 2-byte name and two empty addresses.
            #expect(Self.headerCount(bytes) == 30 + (1 + 4 + 3 * (1 + 4 + 2 + 2)) + 12)
            #expect(bytes.count == Self.headerCount(bytes) + 16 + 4)
            #expect(Array(bytes[0..<8]) == Array("KVSNAP\0\0".utf8))
            #expect(Array(bytes[8..<18]) == [1, 0, 7, 0, 0, 0, 0, 0, 0, 0])
        }
    }

    @Test("a flipped byte at any position of a small snapshot is detected")
    func everyByteOfSmallSnapshot() throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2, count: 16)) { store, file, original in
            for position in original.indices {
                for mask: UInt8 in [0xFF, 0x01, 0x80] {
                    var damaged = original
                    damaged[position] ^= mask
                    try writeFile(file, damaged)
                    expectCorrupt(store, path: file, "byte \(position) ^ \(mask) of \(original.count)")
                }
            }
        }
    }

    @Test("a flipped byte at sampled positions of a 256 KiB snapshot is detected")
    func sampledBytesOfLargeSnapshot() throws {
        try Self.withSavedSnapshot(snapshot(900, term: 12, count: 256 << 10)) { store, file, original in
            let header = Self.headerCount(original)
            let positions =
                Array(0..<header + 8) + Array(stride(from: header, to: original.count, by: 4_099))
                + Array(original.count - 8..<original.count)
            for position in positions {
                var damaged = original
                damaged[position] ^= 0x10
                try writeFile(file, damaged)
                expectCorrupt(store, path: file, "byte \(position) of \(original.count)")
            }
        }
    }

    @Test("a file truncated at any length is reported as truncated")
    func everyTruncation() throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2, count: 16)) { store, file, original in
            for length in 0..<original.count {
                try writeFile(file, Array(original.prefix(length)))
                let reason = expectCorrupt(store, path: file, "truncated to \(length) of \(original.count)")
                #expect(reason?.hasPrefix("truncated") == true, "\(length) bytes: \(reason ?? "")")
            }
        }
    }

    @Test("bytes appended after the data checksum are reported")
    func trailingBytes() throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2)) { store, file, original in
            try writeFile(file, original + [0])
            let reason = expectCorrupt(store, path: file)
            #expect(reason?.contains("1 unexpected bytes after the data checksum") == true, "\(reason ?? "")")
        }
    }

    @Test(
        "a file of another format version is refused with both versions in the message",
        arguments: [UInt16(0), 2, 0xFFFF])
    func otherFormatVersion(_ version: UInt16) throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2)) { store, file, original in
            // A well-formed header of that version: its checksum is recomputed.
            var bytes = original
            bytes[8] = UInt8(truncatingIfNeeded: version)
            bytes[9] = UInt8(truncatingIfNeeded: version >> 8)
            let header = Self.headerCount(bytes)
            let checksum = CRC32C.checksum(bytes[..<(header - 4)])
            for offset in 0..<4 {
                bytes[header - 4 + offset] = UInt8(truncatingIfNeeded: checksum >> (8 * offset))
            }
            try writeFile(file, bytes)
            #expect(expectCorrupt(store, path: file) == "format version \(version), expected 1")
        }
    }

    @Test(
        "a file renamed to another index or term is refused",
        arguments: [(index: UInt64(8), term: UInt64(2)), (index: 7, term: 3), (index: 6, term: 2)])
    func renamedFile(_ name: (index: UInt64, term: UInt64)) throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2)) { store, file, _ in
            let renamed = path(in: store, name.index, term: name.term)
            try FileManager.default.moveItem(atPath: file, toPath: renamed)
            let reason = expectCorrupt(store, path: renamed)
            #expect(
                reason == "the header says i7 t2, the file name says i\(name.index) t\(name.term)",
                "\(reason ?? "")")
        }
    }

    @Test("a corrupt newest snapshot never falls back to the older one, even after reopening")
    func noFallback() throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2)) { store, file, original in
            var damaged = original
            damaged[damaged.count - 6] ^= 1  // in the data
            try writeFile(file, damaged)
            let reason = expectCorrupt(store, path: file)
            #expect(reason?.hasPrefix("data checksum mismatch") == true, "\(reason ?? "")")
            let reopened = try FileSnapshotStore(
                directory: String(store.directory.dropLast("/snapshots".count)))
            expectCorrupt(reopened, path: file)
        }
    }

    @Test("a damaged header reports a header checksum mismatch")
    func headerChecksum() throws {
        try Self.withSavedSnapshot(snapshot(7, term: 2)) { store, file, original in
            var damaged = original
            damaged[12] ^= 1  // in the index
            try writeFile(file, damaged)
            let reason = expectCorrupt(store, path: file)
            #expect(reason?.hasPrefix("header checksum mismatch: stored 0x") == true, "\(reason ?? "")")
        }
    }
}
