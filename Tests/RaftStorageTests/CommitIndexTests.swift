import TestSupport
import Testing

@testable import Raft

@Suite("LogStore: the recorded commit index")
struct CommitIndexTests {
    @Test(
        "a commit index recorded with a batch loads back, and survives reopening",
        arguments: StoreKind.allCases)
    func roundTrip(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(
                hardState: HardState(term: Term(1)), entries: entries(1...5, term: 1),
                commitIndex: LogIndex(3))
            #expect(try subject.store.load().commitIndex == LogIndex(3))
            try subject.reopen()
            #expect(try subject.store.load().commitIndex == LogIndex(3))
        }
    }

    @Test(
        "a commit index alone is recorded, and the recorded value never goes back",
        arguments: StoreKind.allCases)
    func onlyGrows(_ kind: StoreKind) throws {
        try withTemporaryDirectory { directory in
            let subject = try StoreUnderTest(kind, directory: directory)
            try subject.store.persist(hardState: nil, entries: entries(1...5, term: 1), commitIndex: nil)
            try subject.store.persist(hardState: nil, entries: [], commitIndex: LogIndex(4))
            try subject.store.persist(hardState: nil, entries: [], commitIndex: LogIndex(2))
            let log = try subject.store.load()
            #expect(log.commitIndex == LogIndex(4))
            #expect(shape(log) == shape(PersistedLog(entries: entries(1...5, term: 1))))
        }
    }

    @Test(
        "a commit index recorded alone, without a sync of its own, survives reopening, and later batches sync again"
    )
    func unsyncedCommitIndex() throws {
        try withTemporaryDirectory { directory in
            var store: SQLiteLogStore? = try SQLiteLogStore(directory: directory)
            #expect(store?.synchronousSetting == "2")
            try store?.persist(
                hardState: HardState(term: Term(1)), entries: entries(1...5, term: 1), commitIndex: nil)
            try store?.persist(hardState: nil, entries: [], commitIndex: LogIndex(5))
            // FULL again: the next batch of entries is synced, and with it the commit record.
            #expect(store?.synchronousSetting == "2")
            store = nil
            let reopened = try SQLiteLogStore(directory: directory)
            #expect(try reopened.load().commitIndex == LogIndex(5))
        }
    }
}
