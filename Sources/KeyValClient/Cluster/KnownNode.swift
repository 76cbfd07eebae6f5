/// A cluster member as a client knows it: from the latest `/status` answers, or a seed address
/// that has not answered yet.
public struct KnownNode: Sendable, Equatable, CustomStringConvertible {
    public enum Role: String, Sendable, Equatable {
        case leader, follower, learner
        /// A seed that has not answered, so its id and role are unknown.
        case unknown
    }

    /// Nil for a seed that has not answered.
    public var id: String?
    public var address: ServerAddress
    public var role: Role
    /// The leader's view: whether the node answered it within the last election timeout, and how
    /// many entries it is behind. Nil when no leader's view is at hand.
    public var reachable: Bool?
    public var lag: UInt64?

    public init(
        id: String?, address: ServerAddress, role: Role, reachable: Bool? = nil, lag: UInt64? = nil
    ) {
        self.id = id
        self.address = address
        self.role = role
        self.reachable = reachable
        self.lag = lag
    }

    /// `node1 127.0.0.1:11001 follower`, with `(unreachable)` when the leader says so.
    public var description: String {
        var line = "\(id ?? "?") \(address) \(role.rawValue)"
        if reachable == false { line += " (unreachable)" }
        return line
    }
}

/// What a session knows of the cluster: the members and their HTTP addresses, who leads, and
/// seeds not yet matched to a member. Updated from every `/status` answer; pure, so it is tested
/// without a network.
struct ClusterView: Sendable, Equatable {
    private(set) var clusterID: String?
    private(set) var leaderID: String?
    /// Members in the order the servers list them.
    private(set) var members: [KnownNode] = []
    /// Addresses given by the user that no answer has matched to a member yet.
    private(set) var seeds: [ServerAddress]

    init(seeds: [ServerAddress]) { self.seeds = seeds }

    /// Every node a request may be sent to: members first, then unmatched seeds.
    var nodes: [KnownNode] {
        members + seeds.map { KnownNode(id: nil, address: $0, role: .unknown) }
    }

    var leader: KnownNode? { members.first { $0.id != nil && $0.id == leaderID } }

    /// Learns from `report`, which `address` answered. Its own entry keeps `address` (the one this
    /// client reaches it by); others take their advertised HTTP address. A leader's report also
    /// carries each member's reachability and lag.
    mutating func update(from report: StatusReport, answeredAt address: ServerAddress) {
        clusterID = report.clusterID
        leaderID = report.leader?.id
        let previous = members
        members = report.members.compactMap { member in
            let memberAddress: ServerAddress? =
                member.id == report.id ? address : ServerAddress(member.haddr)
            guard let memberAddress else { return nil }  // joined without an HTTP address
            let role: KnownNode.Role =
                member.id == report.leader?.id ? .leader : member.voter ? .follower : .learner
            var node = KnownNode(id: member.id, address: memberAddress, role: role)
            if report.role == "leader" {
                node.reachable = member.reachable
                node.lag = member.lag
            } else if let old = previous.first(where: { $0.id == member.id }) {
                // A follower's report says nothing of reachability: keep the leader's last word.
                node.reachable = old.reachable
                node.lag = old.lag
            }
            return node
        }
        let memberAddresses = Set(members.map(\.address))
        seeds.removeAll { memberAddresses.contains($0) || $0 == address }
    }

    /// Learns who leads from a write's answer (`Keyval-Leader`, set by the node that served the
    /// write as the leader). Its address is the member's, so it stays unknown (`leader` nil) until a
    /// status answer lists that member.
    mutating func noteLeader(_ id: String) {
        guard id != leaderID else { return }
        leaderID = id
        assignRoles()
    }

    /// Forgets the leader if it is the node at `address`: a write sent there did not reach it, or
    /// it did not serve it. Writes go to the session's node (which forwards them) until an answer
    /// names a leader again.
    mutating func forgetLeader(at address: ServerAddress) {
        guard leader?.address == address else { return }
        leaderID = nil
        assignRoles()
    }

    /// Members' roles after the leader changed without a status answer: the old leader is a
    /// follower now (a leader is a voter), learners stay learners.
    private mutating func assignRoles() {
        for index in members.indices where members[index].role != .learner {
            members[index].role = members[index].id == leaderID ? .leader : .follower
        }
    }

    /// The id of the node at `address`, if an answer named it.
    func id(at address: ServerAddress) -> String? { members.first { $0.address == address }?.id }

    /// Where to send a request next when `excluded` failed: the leader first (no forwarding hop),
    /// then the others in order.
    func nextCandidate(excluding excluded: [ServerAddress]) -> ServerAddress? {
        let ordered = (leader.map { [$0] } ?? []) + nodes.filter { $0.role != .leader }
        return ordered.first { !excluded.contains($0.address) }?.address
    }
}
