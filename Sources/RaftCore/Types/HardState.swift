/// What a node must have on disk before it answers any RPC (Raft Figure 2, "persistent state").
/// The log entries themselves travel separately in `Ready.entriesToAppend`.
public struct HardState: Sendable, Equatable, CustomStringConvertible {
    public var term: Term
    /// The candidate this node voted for in `term`, if any.
    public var vote: NodeID?

    public init(term: Term = .zero, vote: NodeID? = nil) {
        self.term = term
        self.vote = vote
    }

    public var description: String { "\(term) vote=\(vote?.description ?? "-")" }
}
