import Raft
import Testing

@Suite("MemoryLogStore")
struct MemoryLogStoreTests {
    @Test(
        "a store built from an inconsistent log refuses every call, like a damaged file",
        arguments: [
            PersistedLog(compactedThrough: LogIndex(3), entries: entries(5...6, term: 1)),
            PersistedLog(entries: entries(1...2, term: 1) + entries(4...4, term: 1)),
            PersistedLog(entries: entries(1...2, term: 2) + entries(3...3, term: 1)),
        ])
    func inconsistentLogIsRefused(_ log: PersistedLog) {
        let store = MemoryLogStore(log)
        let errors = [
            #expect(throws: StorageError.self) { _ = try store.load() },
            #expect(throws: StorageError.self) {
                try store.persist(hardState: HardState(term: Term(5)), entries: [])
            },
            #expect(throws: StorageError.self) { try store.compact(through: LogIndex(1)) },
        ]
        for error in errors {
            #expect(error?.path == MemoryLogStore.path)
            #expect(error?.corruptReason != nil)
        }
        #expect(store.persisted == log)
    }

    @Test("persisted is what a restarted store starts from")
    func restartFromPersisted() throws {
        let store = MemoryLogStore()
        try store.persist(hardState: HardState(term: Term(2), vote: "n3"), entries: entries(1...4, term: 2))
        try store.compact(through: LogIndex(2))
        let restarted = MemoryLogStore(store.persisted)
        #expect(try restarted.load() == store.persisted)
        try restarted.persist(hardState: nil, entries: entries(5...5, term: 2))
        #expect(try restarted.load().entries == entries(3...5, term: 2))
    }
}
