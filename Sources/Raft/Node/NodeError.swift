/// Why a node could not answer a proposal or a read.
public enum NodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Only the leader takes proposals; `leaderHint` is the one it knows of. A linearizable read
    /// fails so only on a node that knows no leader (`leaderHint` nil).
    case notLeader(leaderHint: NodeID?)
    /// Another term's entry took the proposal's place in the log: it will never be applied.
    case dropped
    /// A read could not be confirmed (leadership lost while it waited; on a follower, its leader
    /// changed or did not answer within an election timeout). Nothing was read; ask again.
    case readFailed
    /// The node is shutting down or has stopped.
    case stopped
    /// A membership change could not be made now (another is in flight, or a new leader has not
    /// committed an entry of its term yet); retry shortly.
    case membershipChangeInProgress
    /// A membership change that makes no sense for the current configuration.
    case invalidMembershipChange(String)
    /// This leader is handing leadership over; the next leader takes proposals in a moment.
    case leadershipTransferInProgress
    /// A leadership transfer could not start, or did not hand leadership to its target.
    case leadershipTransferFailed(LeadershipTransferFailure)

    public var description: String {
        switch self {
        case .notLeader(let hint): "not the leader (leader: \(hint?.description ?? "unknown"))"
        case .dropped: "the proposal was replaced by another leader's entry"
        case .readFailed: "the read could not be confirmed by the leader"
        case .stopped: "the node has stopped"
        case .membershipChangeInProgress: "another membership change is in progress"
        case .invalidMembershipChange(let reason): reason
        case .leadershipTransferInProgress: "leadership is being handed over; retry in a moment"
        case .leadershipTransferFailed(let failure): "leadership transfer failed: \(failure)"
        }
    }
}
