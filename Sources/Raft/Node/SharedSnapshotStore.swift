import Synchronization

/// The node's snapshot store, shared by its loop (which saves a snapshot received from the leader)
/// and the background job that saves the snapshots the node takes itself. One call at a time, and
/// a snapshot older than one already saved is skipped rather than refused: the leader's snapshot
/// may land while this node's own, older one is still being encoded.
final class SharedSnapshotStore: @unchecked Sendable {
    // @unchecked: `store` is not Sendable, and is only ever touched inside `newest`'s lock, which
    // is what serializes the loop and the background job. The node hands its store over at init
    // and never uses it directly again.
    private let store: any SnapshotStore
    private let newest: Mutex<LogIndex>

    init(_ store: any SnapshotStore, newest: LogIndex) {
        self.store = store
        self.newest = Mutex(newest)
    }

    enum Outcome: Sendable, Equatable {
        case saved
        /// A snapshot at or after this one's index was saved first; nothing was written.
        case superseded(by: LogIndex)
    }

    /// Saves `snapshot` unless one at its index or later is stored already.
    func save(_ snapshot: StoredSnapshot) throws(StorageError) -> Outcome {
        try newest.withLock { newest throws(StorageError) -> Outcome in
            guard snapshot.metadata.index > newest else { return .superseded(by: newest) }
            try store.save(snapshot)
            newest = snapshot.metadata.index
            return .saved
        }
    }
}
