/// A snapshot with its data: the state machine's bytes after applying every entry through
/// `metadata.index`. The core keeps the latest one to send to followers that need it.
public struct Snapshot: Sendable, Equatable, CustomStringConvertible {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }

    public var description: String { "\(metadata) (\(data.count) bytes)" }
}

/// A snapshot a follower is receiving in chunks.
public struct IncomingSnapshot: Sendable, Equatable {
    public var metadata: SnapshotMetadata
    public var leader: NodeID
    public var totalBytes: UInt64
    public var data: [UInt8]
}
