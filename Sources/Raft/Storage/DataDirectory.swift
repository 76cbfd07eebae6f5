#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A node's data directory: `raft.db` (hard state and log) beside `snapshots/`.
///
/// Opening it checks that the two belong together before either is trusted: a missing `raft.db`
/// beside snapshots means the node's term and vote are gone, and starting with a fresh database
/// could let it vote twice in one term (pitfall 4), so that is refused like any damaged file.
public struct DataDirectory {
    public let path: String
    public let logStore: SQLiteLogStore
    public let snapshotStore: FileSnapshotStore

    public static func open(_ path: String) throws(StorageError) -> DataDirectory {
        try SnapshotFileIO.requireDirectory(path)
        let database = path + "/" + SQLiteLogStore.fileName
        let snapshots = path + "/" + FileSnapshotStore.directoryName
        if access(database, F_OK) != 0 && access(snapshots, F_OK) == 0 {
            let names = try SnapshotFileIO.listDirectory(snapshots)
            if let snapshot = names.sorted().last(where: { SnapshotFileFormat.parseFileName($0) != nil }) {
                throw .corrupt(
                    path: database,
                    reason:
                        "missing, but \(snapshots)/\(snapshot) exists: the node's term, vote and log are gone"
                )
            }
        }
        return DataDirectory(
            path: path, logStore: try SQLiteLogStore(directory: path),
            snapshotStore: try FileSnapshotStore(directory: path))
    }
}
