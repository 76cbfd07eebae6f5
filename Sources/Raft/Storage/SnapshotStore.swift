/// A snapshot as stored: its metadata and the state machine's bytes.
public struct StoredSnapshot: Sendable, Equatable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}

/// Durable storage of snapshots. Used from one task at a time.
public protocol SnapshotStore: AnyObject {
    /// Stores a snapshot durably and atomically (a crash leaves either the old set or the new
    /// one), then keeps only the newest few.
    func save(_ snapshot: StoredSnapshot) throws(StorageError)

    /// The newest snapshot, verified; nil when there is none. A snapshot that fails verification
    /// is never returned: the call throws `.corrupt` naming the file, so the node refuses to
    /// start rather than start with data missing.
    func loadNewest() throws(StorageError) -> StoredSnapshot?
}
