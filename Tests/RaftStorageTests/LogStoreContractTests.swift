import Raft
import TestSupport
import Testing

/// The `LogStore` contract, run against both stores: what `persist` and `compact` keep, what they
/// refuse (and that a refused call changes nothing), and what survives a reopen.
@Suite("LogStore contract")
struct LogStoreContractTests {
    @Test("a new store loads as empty", arguments: StoreKind.allCases)
    func newStoreIsEmpty(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            #expect(try subject.store.load() == PersistedLog())
        }
    }

    @Test("persisted hard state and entries load back exactly", arguments: StoreKind.allCases)
    func roundTrip(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            let hardState = HardState(term: Term(3), vote: "n2")
            var written = entries(1...5, term: 2)
            written.append(Entry(term: Term(3), index: LogIndex(6), kind: .noop))
            try subject.store.persist(hardState: hardState, entries: written)
            try subject.store.persist(hardState: nil, entries: entries(7...9, term: 3))
            #expect(
                try subject.store.load()
                    == PersistedLog(hardState: hardState, entries: written + entries(7...9, term: 3)))
        }
    }

    @Test("a hard state alone changes only the hard state", arguments: StoreKind.allCases)
    func hardStateOnly(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: HardState(term: Term(1)), entries: entries(1...3, term: 1))
            try subject.store.persist(hardState: HardState(term: Term(2), vote: "n3"), entries: [])
            #expect(try subject.store.load().hardState == HardState(term: Term(2), vote: "n3"))
            try subject.store.persist(hardState: HardState(term: Term(4)), entries: [])
            let loaded = try subject.store.load()
            #expect(loaded.hardState == HardState(term: Term(4), vote: nil))
            #expect(loaded.entries == entries(1...3, term: 1))
        }
    }

    @Test("entries alone keep the stored hard state", arguments: StoreKind.allCases)
    func entriesOnly(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: HardState(term: Term(5), vote: "n1"), entries: [])
            try subject.store.persist(hardState: nil, entries: entries(1...2, term: 5))
            #expect(try subject.store.load().hardState == HardState(term: Term(5), vote: "n1"))
        }
    }

    @Test("an empty call changes nothing", arguments: StoreKind.allCases)
    func emptyCall(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: HardState(term: Term(1)), entries: entries(1...2, term: 1))
            let before = try subject.store.load()
            try subject.store.persist(hardState: nil, entries: [])
            #expect(try subject.store.load() == before)
        }
    }

    @Test(
        "a batch starting inside the log replaces that index and every entry after it",
        arguments: StoreKind.allCases)
    func conflictingSuffixIsTruncated(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: HardState(term: Term(2)), entries: entries(1...10, term: 2))
            // A new leader in term 3 overwrites from i6; i9 and i10 must not survive behind the batch.
            try subject.store.persist(hardState: HardState(term: Term(3)), entries: entries(6...8, term: 3))
            #expect(try subject.store.load().entries == entries(1...5, term: 2) + entries(6...8, term: 3))
            // Rewriting the very first entry replaces the whole log.
            try subject.store.persist(hardState: HardState(term: Term(4)), entries: entries(1...1, term: 4))
            #expect(try subject.store.load().entries == entries(1...1, term: 4))
            try subject.reopen()
            #expect(try subject.store.load().entries == entries(1...1, term: 4))
        }
    }

    @Test(
        "compaction removes the prefix, and the log then starts right after it", arguments: StoreKind.allCases
    )
    func compactionThenLoad(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: HardState(term: Term(1)), entries: entries(1...10, term: 1))
            try subject.store.compact(through: LogIndex(4))
            var loaded = try subject.store.load()
            #expect(loaded.compactedThrough == LogIndex(4))
            #expect(loaded.entries == entries(5...10, term: 1))
            // Appending and truncating still work after compaction.
            try subject.store.persist(hardState: HardState(term: Term(2)), entries: entries(8...12, term: 2))
            try subject.store.compact(through: LogIndex(10))
            try subject.reopen()
            loaded = try subject.store.load()
            #expect(loaded.compactedThrough == LogIndex(10))
            #expect(loaded.entries == entries(11...12, term: 2))
        }
    }

    @Test(
        "compaction past the end empties the log, and the next batch starts after the compaction point",
        arguments: StoreKind.allCases)
    func compactionPastTheEnd(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: HardState(term: Term(1)), entries: entries(1...5, term: 1))
            try subject.store.compact(through: LogIndex(20))  // a follower installed a newer snapshot
            #expect(
                try subject.store.load()
                    == PersistedLog(hardState: HardState(term: Term(1)), compactedThrough: LogIndex(20)))
            let gap = #expect(throws: StorageError.self) {
                try subject.store.persist(hardState: nil, entries: entries(6...7, term: 2))
            }
            #expect(gap?.isInvalidArgument == true)
            try subject.store.persist(hardState: HardState(term: Term(2)), entries: entries(21...22, term: 2))
            try subject.reopen()
            let loaded = try subject.store.load()
            #expect(loaded.compactedThrough == LogIndex(20))
            #expect(loaded.entries == entries(21...22, term: 2))
        }
    }

    @Test("compaction never goes back (§7)", arguments: StoreKind.allCases)
    func compactionNeverGoesBack(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: HardState(term: Term(1)), entries: entries(1...10, term: 1))
            try subject.store.compact(through: LogIndex(6))
            try subject.store.compact(through: LogIndex(3))
            try subject.store.compact(through: LogIndex(6))
            let loaded = try subject.store.load()
            #expect(loaded.compactedThrough == LogIndex(6))
            #expect(loaded.entries == entries(7...10, term: 1))
        }
    }

    /// A refused batch, with the hard state that came with it, must leave the store untouched.
    struct Refusal: Sendable, CustomTestStringConvertible {
        var name: String
        var batch: [Entry]
        var testDescription: String { name }

        static let all: [Refusal] = [
            Refusal(name: "a gap after the stored end", batch: entries(12...13, term: 2)),
            Refusal(
                name: "non-contiguous entries", batch: entries(9...9, term: 2) + entries(11...11, term: 2)),
            Refusal(name: "entries out of order", batch: entries(9...9, term: 2) + entries(8...8, term: 2)),
            Refusal(name: "a repeated index", batch: entries(9...9, term: 2) + entries(9...9, term: 2)),
            Refusal(name: "entries inside the compacted prefix", batch: entries(2...4, term: 2)),
            Refusal(
                name: "terms decreasing inside the batch",
                batch: entries(9...9, term: 3) + entries(10...10, term: 2)),
            Refusal(name: "a term below the entry before the batch", batch: entries(8...8, term: 1)),
            Refusal(name: "index zero", batch: [Entry(term: Term(2), index: .zero)]),
        ]
    }

    @Test(
        "a batch breaking the contract is refused and nothing changes", arguments: StoreKind.allCases,
        Refusal.all)
    func refusedBatchChangesNothing(_ kind: StoreKind, _ refusal: Refusal) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(
                hardState: HardState(term: Term(2), vote: "n1"),
                entries: entries(1...5, term: 1) + entries(6...10, term: 2))
            try subject.store.compact(through: LogIndex(4))
            let before = try subject.store.load()
            let error = #expect(throws: StorageError.self) {
                try subject.store.persist(
                    hardState: HardState(term: Term(9), vote: "n9"), entries: refusal.batch)
            }
            #expect(error?.isInvalidArgument == true, "\(String(describing: error))")
            #expect(try subject.store.load() == before)
            // The store keeps working after a refusal, and the refusal did not reach the disk.
            try subject.store.persist(hardState: nil, entries: entries(11...11, term: 2))
            try subject.reopen()
            #expect(try subject.store.load().entries == before.entries + entries(11...11, term: 2))
            #expect(try subject.store.load().hardState == before.hardState)
        }
    }

    @Test("everything survives closing and reopening", arguments: StoreKind.allCases)
    func reopenKeepsEverything(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(
                hardState: HardState(term: Term(1), vote: "n1"), entries: entries(1...100, term: 1))
            try subject.store.persist(
                hardState: HardState(term: Term(3), vote: "n2"), entries: entries(90...120, term: 3))
            try subject.store.compact(through: LogIndex(50))
            let before = try subject.store.load()
            try subject.reopen()
            #expect(try subject.store.load() == before)
            // The reopened store knows where the log ends: it appends, and refuses a gap.
            try subject.store.persist(hardState: nil, entries: entries(121...125, term: 3))
            let gap = #expect(throws: StorageError.self) {
                try subject.store.persist(hardState: nil, entries: entries(127...127, term: 3))
            }
            #expect(gap?.isInvalidArgument == true)
            try subject.reopen()
            let after = try subject.store.load()
            #expect(after.compactedThrough == LogIndex(50))
            #expect(after.entries == before.entries + entries(121...125, term: 3))
            #expect(after.hardState == HardState(term: Term(3), vote: "n2"))
        }
    }

    @Test("no-op entries, empty data and large data round-trip", arguments: StoreKind.allCases)
    func payloadsRoundTrip(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            let written = [
                Entry(term: Term(1), index: LogIndex(1), kind: .noop),
                Entry(term: Term(1), index: LogIndex(2), kind: .command, data: []),
                Entry(term: Term(1), index: LogIndex(3), kind: .command, data: [0]),
                Entry(
                    term: Term(1), index: LogIndex(4), kind: .command,
                    data: (0..<1_000_000).map { UInt8($0 % 251) }),
            ]
            try subject.store.persist(hardState: HardState(term: Term(1), vote: ""), entries: written)
            try subject.reopen()
            #expect(
                try subject.store.load()
                    == PersistedLog(hardState: HardState(term: Term(1), vote: ""), entries: written))
        }
    }
}
