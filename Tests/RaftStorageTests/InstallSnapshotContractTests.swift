import Raft
import TestSupport
import Testing

/// `LogStore.installSnapshot(index:term:)`, run against both stores: a snapshot from the leader
/// replaces the log's prefix (Raft Figure 13): the entries after it stay when the stored entry at
/// its index has its term (rule 6), every entry goes otherwise (rule 7). The compaction point
/// becomes the snapshot's index, never goes back, and the hard state is untouched; a reopened
/// store shows the same, and the next entries start right after the snapshot.
@Suite("LogStore.installSnapshot contract (Figure 13 rules 6 and 7)")
struct InstallSnapshotContractTests {
    static let hardState = HardState(term: Term(3), vote: "n2")

    /// `entries(1...5, term: 1) + entries(6...10, term: 2)` under `hardState`.
    static func twoTermLog(_ subject: StoreUnderTest) throws {
        try subject.store.persist(
            hardState: hardState, entries: entries(1...5, term: 1) + entries(6...10, term: 2))
    }

    /// Checks the store now and after a reopen.
    static func expectLoads(_ subject: StoreUnderTest, _ expected: PersistedLog) throws {
        #expect(try subject.store.load() == expected)
        try subject.reopen()
        #expect(try subject.store.load() == expected, "after reopening")
    }

    @Test(
        "rule 6: a snapshot matching the stored entry's index and term keeps the entries after it",
        arguments: StoreKind.allCases)
    func matchingEntryKeepsSuffix(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try Self.twoTermLog(subject)
            try subject.store.installSnapshot(index: LogIndex(7), term: Term(2))
            try Self.expectLoads(
                subject,
                PersistedLog(
                    hardState: Self.hardState, compactedThrough: LogIndex(7),
                    entries: entries(8...10, term: 2)))
            // The kept suffix goes on as an ordinary log.
            try subject.store.persist(hardState: nil, entries: entries(11...12, term: 3))
            #expect(try subject.store.load().entries == entries(8...10, term: 2) + entries(11...12, term: 3))
        }
    }

    @Test(
        "rule 6 at the last entry: the log empties and the next entry follows the snapshot",
        arguments: StoreKind.allCases)
    func matchingLastEntry(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try Self.twoTermLog(subject)
            try subject.store.installSnapshot(index: LogIndex(10), term: Term(2))
            try Self.expectLoads(
                subject, PersistedLog(hardState: Self.hardState, compactedThrough: LogIndex(10), entries: []))
            try subject.store.persist(hardState: nil, entries: entries(11...11, term: 2))
            #expect(try subject.store.load().entries == entries(11...11, term: 2))
        }
    }

    @Test(
        "rule 7: a snapshot whose term differs from the stored entry's discards every entry",
        arguments: StoreKind.allCases)
    func mismatchingTermDiscardsAll(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try Self.twoTermLog(subject)
            // The stored entry at 7 is of term 2; the leader's snapshot says 7 is of term 3, so the
            // entries after 7 came from a deposed leader and must not survive behind the snapshot.
            try subject.store.installSnapshot(index: LogIndex(7), term: Term(3))
            try Self.expectLoads(
                subject, PersistedLog(hardState: Self.hardState, compactedThrough: LogIndex(7), entries: []))
        }
    }

    @Test("rule 7 at the first stored entry discards every entry", arguments: StoreKind.allCases)
    func mismatchingFirstEntry(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try Self.twoTermLog(subject)
            try subject.store.compact(through: LogIndex(3))
            try subject.store.installSnapshot(index: LogIndex(4), term: Term(2))
            try Self.expectLoads(
                subject, PersistedLog(hardState: Self.hardState, compactedThrough: LogIndex(4), entries: []))
        }
    }

    @Test(
        "after rule 7 the next persist starts right after the snapshot, and nowhere else",
        arguments: StoreKind.allCases)
    func persistAfterDiscard(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try Self.twoTermLog(subject)
            try subject.store.installSnapshot(index: LogIndex(7), term: Term(3))
            try subject.reopen()
            let emptied = try subject.store.load()
            // Inside the snapshot, at its index, in the discarded range, beyond it.
            for first: UInt64 in [5, 7, 9, 11] {
                #expect(throws: StorageError.self, "a batch starting at \(first)") {
                    try subject.store.persist(hardState: nil, entries: entries(first...(first + 1), term: 3))
                }
                #expect(try subject.store.load() == emptied, "a refused batch at \(first) changed the store")
            }
            try subject.store.persist(hardState: HardState(term: Term(4)), entries: entries(8...9, term: 4))
            try Self.expectLoads(
                subject,
                PersistedLog(
                    hardState: HardState(term: Term(4)), compactedThrough: LogIndex(7),
                    entries: entries(8...9, term: 4)
                ))
        }
    }

    @Test("a snapshot past the log's end empties the log, whatever its term", arguments: StoreKind.allCases)
    func pastTheEndEmpties(_ kind: StoreKind) throws {
        for term: UInt64 in [2, 5] {  // the last entry's term, and a newer one
            try withTemporaryDirectory { directory in
                let subject = try StoreUnderTest(kind, directory: directory)
                try Self.twoTermLog(subject)
                try subject.store.installSnapshot(index: LogIndex(15), term: Term(term))
                try Self.expectLoads(
                    subject,
                    PersistedLog(hardState: Self.hardState, compactedThrough: LogIndex(15), entries: []))
                #expect(throws: StorageError.self) {
                    try subject.store.persist(hardState: nil, entries: entries(11...12, term: term))
                }
                try subject.store.persist(hardState: nil, entries: entries(16...16, term: term))
                #expect(try subject.store.load().entries == entries(16...16, term: term))
            }
        }
    }

    @Test("a snapshot at or below the compaction point changes nothing", arguments: StoreKind.allCases)
    func atOrBelowCompactionPoint(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            // A new store: compacted through 0.
            try subject.store.installSnapshot(index: .zero, term: Term(1))
            #expect(try subject.store.load() == PersistedLog())

            try Self.twoTermLog(subject)
            try subject.store.installSnapshot(index: LogIndex(4), term: Term(1))
            let before = try subject.store.load()
            // Matching and mismatching terms alike: neither discards the suffix nor moves the point back.
            for (index, term): (UInt64, UInt64) in [(4, 1), (4, 9), (2, 1), (2, 9), (0, 9)] {
                try subject.store.installSnapshot(index: LogIndex(index), term: Term(term))
                #expect(try subject.store.load() == before, "installSnapshot(\(index), \(term))")
            }
            try Self.expectLoads(subject, before)
        }
    }

    @Test("an index beyond the storable range is refused and changes nothing", arguments: StoreKind.allCases)
    func unstorableIndexRefused(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try Self.twoTermLog(subject)
            let before = try subject.store.load()
            let error = #expect(throws: StorageError.self) {
                try subject.store.installSnapshot(index: LogIndex(UInt64(Int64.max) + 1), term: Term(2))
            }
            #expect(error?.isInvalidArgument == true)
            try Self.expectLoads(subject, before)
            // A refused call does not poison the store.
            try subject.store.installSnapshot(index: LogIndex(6), term: Term(2))
            #expect(try subject.store.load().compactedThrough == LogIndex(6))
        }
    }
}
