/// The replicated application a `RaftNode` drives: it sees committed entries only, in log order,
/// each exactly once per incarnation. Used from the node's loop only, so it needs no locking.
public protocol StateMachine: AnyObject, SendableMetatype {
    /// What a proposer is answered with when its entry applies.
    associatedtype Output: Sendable

    /// Applies one committed entry. No-op entries come too (they only advance the index).
    /// Must be deterministic: every replica gets the same entries and must reach the same state.
    func apply(_ entry: Entry) -> Output

    /// The whole state after the last applied entry, as bytes any replica's `restore` accepts.
    func snapshot() -> [UInt8]

    /// Replaces the whole state with a snapshot's; throws if the bytes are not a valid snapshot.
    func restore(from snapshot: [UInt8]) throws
}
