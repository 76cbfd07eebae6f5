/// A node's data directory: `raft.db` (hard state and log) beside `snapshots/`.
///
/// Opening it checks that the two belong together before either is trusted: a missing `raft.db`
/// beside snapshots means the node's term and vote are gone, and starting with a fresh database
/// could let it vote twice in one term (Figure 2, "persistent state"), so that is refused like any damaged file.
public enum DataDirectory {
    /// Opens the directory's stores, ready to hand to a `RaftNode`.
    public static func open(_ path: String) throws(StorageError) -> NodeStorage {
        try FileSystem.requireDirectory(path)
        let database = path + "/" + SQLiteLogStore.fileName
        let snapshots = path + "/" + FileSnapshotStore.directoryName
        let hasDatabase = try FileSystem.exists(database)
        let hasSnapshots = try FileSystem.exists(snapshots)
        if !hasDatabase && hasSnapshots {
            let names = try FileSystem.listDirectory(snapshots)
            if let snapshot = names.sorted().last(where: { SnapshotFileFormat.parseFileName($0) != nil }) {
                throw .corrupt(
                    path: database,
                    reason:
                        "missing, but \(snapshots)/\(snapshot) exists: the node's term, vote and log are gone"
                )
            }
        }
        return NodeStorage(
            logStore: try SQLiteLogStore(directory: path),
            snapshotStore: try FileSnapshotStore(directory: path))
    }
}

/// A node's two stores, handed to a `RaftNode` as one value (the node's loop then owns both).
public struct NodeStorage {
    public var logStore: any LogStore
    public var snapshotStore: any SnapshotStore

    public init(logStore: any LogStore, snapshotStore: any SnapshotStore) {
        self.logStore = logStore
        self.snapshotStore = snapshotStore
    }
}
