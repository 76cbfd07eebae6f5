/// Who takes part in the cluster: the voters, whose majority decides elections and commits.
public struct ClusterConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Sorted, without duplicates, so anything derived from it comes out in a stable order.
    public private(set) var voters: [NodeID]

    public init(voters: [NodeID]) {
        self.voters = Array(Set(voters)).sorted()
    }

    public func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }

    /// The smallest number of voters that forms a majority.
    public var quorum: Int { voters.count / 2 + 1 }

    public var description: String { "voters=[\(voters.map(\.name).joined(separator: ","))]" }
}
