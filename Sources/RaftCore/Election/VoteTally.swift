/// The votes a (pre-)candidate has collected in one round.
public struct VoteTally: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable { case pending, won, lost }

    public let quorum: Int
    public let voterCount: Int
    public private(set) var granted: Set<NodeID> = []
    public private(set) var rejected: Set<NodeID> = []

    public init(configuration: ClusterConfiguration) {
        quorum = configuration.quorum
        voterCount = configuration.voters.count
    }

    /// Records one voter's answer (the first answer from each voter counts) and says where the round stands.
    public mutating func record(_ voter: NodeID, granted isGranted: Bool) -> Outcome {
        if !granted.contains(voter) && !rejected.contains(voter) {
            if isGranted { granted.insert(voter) } else { rejected.insert(voter) }
        }
        return outcome
    }

    public var outcome: Outcome {
        if granted.count >= quorum { return .won }
        if voterCount - rejected.count < quorum { return .lost }
        return .pending
    }
}
