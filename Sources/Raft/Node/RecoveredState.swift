/// What a node starts from: its newest valid snapshot and the log entries that follow it.
public struct RecoveredState: Sendable {
    public var hardState: HardState
    public var snapshot: Snapshot?
    public var log: RaftLog

    /// Reads both stores and puts them together. A crash between saving a snapshot and compacting
    /// the log leaves entries the snapshot already covers: they are dropped, and if the log
    /// disagrees with the snapshot at its index, all of it is (Figure 13, rule 7). A log compacted
    /// past the newest snapshot means data is missing: refused, never started from.
    public static func load(logStore: any LogStore, snapshotStore: any SnapshotStore) throws(StorageError)
        -> RecoveredState
    {
        let persisted = try logStore.load()
        let stored = try snapshotStore.loadNewest()
        let snapshotIndex = stored?.metadata.index ?? .zero
        guard persisted.compactedThrough <= snapshotIndex else {
            let newest =
                stored.map { "the newest snapshot is at \($0.metadata.index)" } ?? "there is no snapshot"
            throw .corrupt(
                path: "raft log",
                reason:
                    "the log was compacted through \(persisted.compactedThrough) but \(newest): entries are missing"
            )
        }
        guard let stored else {
            return RecoveredState(
                hardState: persisted.hardState, snapshot: nil,
                log: RaftLog(entries: persisted.entries, committed: persisted.commitIndex))
        }
        let metadata = stored.metadata
        var tail = persisted.entries.filter { $0.index > metadata.index }
        if let atSnapshot = persisted.entries.first(where: { $0.index == metadata.index }),
            atSnapshot.term != metadata.term
        {
            tail = []
        }
        if let first = tail.first, first.index != metadata.index.next { tail = [] }
        return RecoveredState(
            hardState: persisted.hardState,
            snapshot: Snapshot(metadata: metadata, data: stored.data),
            log: RaftLog(
                snapshotIndex: metadata.index, snapshotTerm: metadata.term, entries: tail,
                committed: persisted.commitIndex))
    }
}
