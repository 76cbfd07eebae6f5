/// The replicated application a `RaftNode` drives: it sees committed entries only, in log order,
/// each exactly once per incarnation. Used from the node's loop only, so it needs no locking.
public protocol StateMachine: AnyObject, SendableMetatype {
    /// What a proposer is answered with when its entry applies.
    associatedtype Output: Sendable

    /// The state as of the last applied entry, detached from the machine: what a snapshot is
    /// encoded from, off the node's loop, while the loop goes on applying entries (§7: a server
    /// snapshots independently while it keeps serving; thesis §5.2 takes the copy copy-on-write).
    /// Taking it must be cheap, since the loop does it; encoding it may take long.
    associatedtype SnapshotState: Sendable = [UInt8]

    /// Applies one committed entry. No-op entries come too (they only advance the index).
    /// Must be deterministic: every replica gets the same entries and must reach the same state.
    func apply(_ entry: Entry) -> Output

    /// The whole state after the last applied entry, as bytes any replica's `restore` accepts.
    func snapshot() -> [UInt8]

    /// A copy of the state after the last applied entry, cheap to take (O(1) for a value with
    /// shared storage); `encodeSnapshot` turns it into the bytes `snapshot()` would give.
    func snapshotState() -> SnapshotState

    /// The bytes of a snapshot of `state`; runs off the node's loop, on any thread.
    static func encodeSnapshot(_ state: SnapshotState) -> [UInt8]

    /// Replaces the whole state with a snapshot's; throws if the bytes are not a valid snapshot.
    func restore(from snapshot: [UInt8]) throws
}

/// A machine without a cheap copy of its state encodes its snapshot on the loop, as `snapshot()`,
/// and hands the bytes over as they are.
extension StateMachine where SnapshotState == [UInt8] {
    public func snapshotState() -> [UInt8] { snapshot() }
    public static func encodeSnapshot(_ state: [UInt8]) -> [UInt8] { state }
}
