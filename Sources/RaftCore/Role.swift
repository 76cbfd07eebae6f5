/// A node's role, carrying the state only that role has: a follower cannot touch replication progress.
public enum Role: Sendable, Equatable {
    case follower(leader: NodeID?)
    /// Collecting pre-votes for `term + 1` without having changed its term (thesis §9.6).
    case preCandidate(VoteTally)
    case candidate(VoteTally)
    case leader(LeaderState)

    public var name: RoleName {
        switch self {
        case .follower: .follower
        case .preCandidate: .preCandidate
        case .candidate: .candidate
        case .leader: .leader
        }
    }
}

public enum RoleName: String, Sendable, Equatable {
    case follower, preCandidate = "pre-candidate", candidate, leader
}

/// What only a leader tracks.
public struct LeaderState: Sendable, Equatable {
    /// Per follower (never the leader itself), in sorted order of id when iterated for output.
    public var progress: [NodeID: Progress]
    /// Ticks since the last check-quorum pass.
    public var ticksSinceQuorumCheck: Int = 0
    /// A leadership transfer under way (thesis §3.10): new proposals are refused until it
    /// succeeds (this node steps down) or is abandoned after an election timeout.
    public var transfer: LeadershipTransfer?

    public init(progress: [NodeID: Progress]) {
        self.progress = progress
    }
}

/// A leader handing over to `target`: it brings the target's log up to date, then sends it
/// `timeoutNow` once.
public struct LeadershipTransfer: Sendable, Equatable {
    public var target: NodeID
    /// Ticks since the transfer began; it is abandoned after an election timeout.
    public var elapsedTicks = 0
    public var sentTimeoutNow = false
}
