/// One member of the cluster: how to reach it, and whether it votes.
public struct Member: Sendable, Hashable, CustomStringConvertible {
    public var id: NodeID
    /// Where peers reach its Raft transport (`-raddr`).
    public var raftAddress: String
    /// Where clients reach its HTTP API (`-haddr`), so any node can name the leader's.
    public var httpAddress: String
    /// Voters elect leaders and count toward commits; learners only receive the log.
    public var isVoter: Bool
    /// A learner the leader makes a voter once it has caught up (a joining node: it costs no
    /// availability while it copies the log, thesis §4.2.1). Always false for a voter.
    public var promotesWhenCaughtUp: Bool

    public init(
        id: NodeID, raftAddress: String = "", httpAddress: String = "", isVoter: Bool = true,
        promotesWhenCaughtUp: Bool = false
    ) {
        self.id = id
        self.raftAddress = raftAddress
        self.httpAddress = httpAddress
        self.isVoter = isVoter
        self.promotesWhenCaughtUp = promotesWhenCaughtUp && !isVoter
    }

    public var description: String {
        "\(id)\(isVoter ? "" : promotesWhenCaughtUp ? " (learner, to be promoted)" : " (learner)")@\(raftAddress)"
    }
}

/// Who takes part in the cluster: its members, and among them the voters, whose majority decides
/// elections and commits.
public struct ClusterConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Sorted by id, ids unique, so anything derived from it comes out in a stable order.
    public private(set) var members: [Member]
    /// The voters' ids, sorted (kept alongside `members`: quorum math reads it on every commit).
    public private(set) var voters: [NodeID]

    public init(members: [Member]) {
        let sorted = members.sorted { $0.id < $1.id }
        precondition(
            zip(sorted, sorted.dropFirst()).allSatisfy { $0.id != $1.id },
            "a member is listed twice in \(members)")
        self.members = sorted
        self.voters = sorted.filter(\.isVoter).map(\.id)
    }

    /// Voters without addresses, for tests and simulations.
    public init(voters: [NodeID]) {
        self.init(members: Set(voters).map { Member(id: $0) })
    }

    public func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
    public func member(_ id: NodeID) -> Member? { members.first { $0.id == id } }
    public var learners: [NodeID] { members.filter { !$0.isVoter }.map(\.id) }

    /// The smallest number of voters that forms a majority.
    public var quorum: Int { voters.count / 2 + 1 }

    public var description: String {
        var text = "voters=[\(voters.map(\.name).joined(separator: ","))]"
        if !learners.isEmpty { text += " learners=[\(learners.map(\.name).joined(separator: ","))]" }
        return text
    }
}
