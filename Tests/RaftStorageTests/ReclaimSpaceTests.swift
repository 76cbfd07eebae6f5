import TestSupport
import Testing

@testable import Raft

/// Compaction in `SQLiteLogStore` moves the compaction point only; `reclaimSpace` deletes the rows
/// it covers later, a bounded amount per call. Deleting 10,000 rows inside `compact` once held a
/// node's loop for 0.1 to 2.2 s under load (docs/benchmarks.md, "A large state under a write load"),
/// longer than an election timeout, and deposed the leader.
@Suite("SQLiteLogStore: compaction frees space a little at a time")
struct ReclaimSpaceTests {
    /// Entries of `size` bytes each.
    func bigEntries(_ range: ClosedRange<UInt64>, term: UInt64, size: Int) -> [Entry] {
        range.map {
            Entry(
                term: Term(term), index: LogIndex($0), data: [UInt8](repeating: UInt8($0 & 0xFF), count: size)
            )
        }
    }

    /// Deletes everything reclaimable `maxBytes` at a time; the row counts seen after each call.
    func reclaimAll(_ store: SQLiteLogStore, maxBytes: Int) throws -> [Int] {
        var rows = [store.storedRowCount]
        while try store.reclaimSpace(maxBytes: maxBytes) {
            rows.append(store.storedRowCount)
            try #require(rows.count < 1_000)
        }
        rows.append(store.storedRowCount)
        return rows
    }

    @Test("compact leaves the rows it removed for reclaimSpace, which deletes about maxBytes per call")
    func boundedWork() throws {
        try withTemporaryDirectory { directory in
            let store = try SQLiteLogStore(directory: directory)
            try store.persist(
                hardState: HardState(term: Term(1)), entries: bigEntries(1...100, term: 1, size: 5_000))
            try store.compact(through: LogIndex(80))
            #expect(store.storedRowCount == 100, "compact deleted rows itself")
            #expect(try store.load().entries.map(\.index.value) == Array(81...100))
            // 4 entries of 5,000 bytes make 20,000 bytes: 80 rows go in 20 calls of 4.
            #expect(try reclaimAll(store, maxBytes: 20_000) == Array(stride(from: 100, through: 20, by: -4)))
            #expect(try store.load().entries.map(\.index.value) == Array(81...100))
            #expect(try store.reclaimSpace(maxBytes: 20_000) == false)
        }
    }

    @Test("a small entry counts as a page: deleting a row costs at least that")
    func smallEntriesCountAsPages() throws {
        try withTemporaryDirectory { directory in
            let store = try SQLiteLogStore(directory: directory)
            try store.persist(hardState: HardState(term: Term(1)), entries: entries(1...100, term: 1))
            try store.compact(through: LogIndex(50))
            // 3-byte entries: 10 pages' worth is 10 rows a call.
            #expect(try reclaimAll(store, maxBytes: 10 * 4_096) == [100, 90, 80, 70, 60, 50])
        }
    }

    @Test("a call frees at least one row, however large")
    func atLeastOneRow() throws {
        try withTemporaryDirectory { directory in
            let store = try SQLiteLogStore(directory: directory)
            try store.persist(
                hardState: HardState(term: Term(1)), entries: bigEntries(1...3, term: 1, size: 50_000))
            try store.compact(through: LogIndex(2))
            #expect(try store.reclaimSpace(maxBytes: 1) == true)
            #expect(store.storedRowCount == 2)
            #expect(try store.reclaimSpace(maxBytes: 1) == false)
            #expect(store.storedRowCount == 1)
        }
    }

    @Test("rows left to reclaim survive a reopen unseen, and are reclaimed after it")
    func reopenWithRowsToReclaim() throws {
        try withTemporaryDirectory { directory in
            var store: SQLiteLogStore! = try SQLiteLogStore(directory: directory)
            try store.persist(hardState: HardState(term: Term(2)), entries: entries(1...30, term: 2))
            try store.compact(through: LogIndex(20))
            store = nil  // closes the database before it is opened again
            store = try SQLiteLogStore(directory: directory)
            let loaded = try store.load()
            #expect(loaded.compactedThrough == LogIndex(20))
            #expect(loaded.entries == entries(21...30, term: 2))
            #expect(store.storedRowCount == 30)
            while try store.reclaimSpace(maxBytes: 1 << 20) {}
            #expect(store.storedRowCount == 10)
            // Appending goes on after the log, not after the rows that were there.
            try store.persist(hardState: nil, entries: entries(31...32, term: 2))
            #expect(try store.load().entries == entries(21...32, term: 2))
        }
    }

    @Test("a compaction past the log's end leaves an empty log, whatever rows remain below it")
    func compactionPastTheEnd() throws {
        try withTemporaryDirectory { directory in
            var store: SQLiteLogStore! = try SQLiteLogStore(directory: directory)
            try store.persist(hardState: HardState(term: Term(1)), entries: entries(1...5, term: 1))
            try store.compact(through: LogIndex(9))  // a follower installed a newer snapshot
            store = nil
            store = try SQLiteLogStore(directory: directory)
            #expect(
                try store.load()
                    == PersistedLog(hardState: HardState(term: Term(1)), compactedThrough: LogIndex(9)))
            try store.persist(hardState: nil, entries: entries(10...11, term: 1))
            #expect(try store.load().entries == entries(10...11, term: 1))
            while try store.reclaimSpace(maxBytes: 1 << 20) {}
            #expect(store.storedRowCount == 2)
        }
    }

    @Test("installing a snapshot that discards the log deletes its suffix at once and leaves the rest")
    func snapshotDiscardingTheLog() throws {
        try withTemporaryDirectory { directory in
            let store = try SQLiteLogStore(directory: directory)
            try store.persist(hardState: HardState(term: Term(1)), entries: entries(1...10, term: 1))
            // Entry 6 has term 1, the snapshot's is term 2: rule 7, the whole log goes.
            try store.installSnapshot(index: LogIndex(6), term: Term(2))
            #expect(store.storedRowCount == 6, "the suffix after the snapshot must go at once")
            try store.persist(hardState: nil, entries: entries(7...8, term: 2))
            #expect(try store.load().entries == entries(7...8, term: 2))
            while try store.reclaimSpace(maxBytes: 1 << 20) {}
            #expect(store.storedRowCount == 2)
        }
    }
}
