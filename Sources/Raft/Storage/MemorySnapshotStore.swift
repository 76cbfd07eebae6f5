/// Snapshots in memory: for `keyvald -inmem` and for tests. Keeps only the newest.
public final class MemorySnapshotStore: SnapshotStore {
    public private(set) var newest: StoredSnapshot?

    public init() {}

    public func save(_ snapshot: StoredSnapshot) throws(StorageError) { newest = snapshot }
    public func loadNewest() throws(StorageError) -> StoredSnapshot? { newest }
}
